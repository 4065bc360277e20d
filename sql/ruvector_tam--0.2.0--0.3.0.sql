-- ruvector_tam 0.2.0 -> 0.3.0.
--
-- 0.3.0 keeps SQ8 search codes beside the vectors of new stores, and
-- ruvector_storage_report gains resident_bytes (the bytes searches keep
-- touching: codes and directory pages).  Stores written by 0.2.0 keep
-- their format (floats only) and are searched exactly; VACUUM FULL or
-- CLUSTER of their table rewrites them with codes.  0.3.0 also adds the
-- signed audit log of storage events (ruvector_audit, as in
-- sql/parts/40_audit.sql).
\echo Use "ALTER EXTENSION ruvector_tam UPDATE TO '0.3.0'" to load this file. \quit

DROP FUNCTION @extschema@.ruvector_storage_report(pg_catalog.regclass);
CREATE FUNCTION @extschema@.ruvector_storage_report(pg_catalog.regclass,
	OUT store pg_catalog.int4, OUT column_name pg_catalog.text, OUT dims pg_catalog.int4,
	OUT tier pg_catalog.text, OUT live_vectors pg_catalog.int8,
	OUT dead_vectors pg_catalog.int8, OUT free_slots pg_catalog.int8,
	OUT pages pg_catalog.int8, OUT bytes pg_catalog.int8,
	OUT relation pg_catalog.regclass, OUT resident_bytes pg_catalog.int8)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_storage_report'
	LANGUAGE C STRICT VOLATILE;

-- The audit log of storage events (src/tam/store/store_audit.c): one row per
-- event, hash-chained (BLAKE2b-256) and signed (Ed25519) with the
-- cluster's key, which lives in the data directory and is never readable
-- from SQL.  Rows are appended by the extension's own code only; nobody but
-- its owner may read or change the table directly.
CREATE TABLE @extschema@.ruvector_audit (
	seq pg_catalog.int8 PRIMARY KEY,			-- 1, 2, 3, ... without gaps
	logged_at pg_catalog.timestamptz NOT NULL,
	event pg_catalog.text NOT NULL,				-- e.g. verify_failure
	relation pg_catalog.oid NOT NULL,			-- the table concerned, 0 for none
	relname pg_catalog.text,					-- its name when the event was logged
	detail pg_catalog.text,
	prev_hash pg_catalog.bytea NOT NULL,		-- hash of row seq - 1 (zeros for seq 1)
	hash pg_catalog.bytea NOT NULL,				-- BLAKE2b-256 of this row
	signature pg_catalog.bytea NOT NULL			-- Ed25519 signature of hash
);
REVOKE ALL ON @extschema@.ruvector_audit FROM PUBLIC;
COMMENT ON TABLE @extschema@.ruvector_audit IS
	'signed, hash-chained log of ruvector storage events; check with ruvector_audit_verify()';

-- How far VACUUM's pending audit events have been appended to
-- ruvector_audit (src/tam/store/store_audit.c): VACUUM, which has no
-- transaction id, notes its moves in a ring in each vector store's
-- metapage; a drain appends the events beyond a ring's position here and
-- moves the position in the same transaction, so an aborted drain leaves
-- them pending and a committed one logs each once.  One row per ring
-- (its random id, kept by copies of the store).
CREATE TABLE @extschema@.ruvector_audit_drained (
	ring pg_catalog.int8 PRIMARY KEY,			-- the ring's id (store metapage)
	store pg_catalog.oid NOT NULL,				-- the store relation last drained
	drained pg_catalog.int8 NOT NULL			-- events 1 .. drained are in ruvector_audit
);
REVOKE ALL ON @extschema@.ruvector_audit_drained FROM PUBLIC;
COMMENT ON TABLE @extschema@.ruvector_audit_drained IS
	'how far each vector store''s pending VACUUM audit events are in ruvector_audit';

CREATE FUNCTION @extschema@.ruvector_audit_public_key()
	RETURNS pg_catalog.bytea
	AS 'MODULE_PATHNAME', 'ruvector_audit_public_key'
	LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION @extschema@.ruvector_audit_public_key() IS
	'the Ed25519 public key (32 bytes) that verifies ruvector_audit''s signatures';

CREATE FUNCTION @extschema@.ruvector_audit_verify(
	OUT seq pg_catalog.int8, OUT problem pg_catalog.text)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_audit_verify'
	LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.ruvector_audit_verify() FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ruvector_audit_verify() IS
	'one row per ruvector_audit row whose sequence, chain, hash or signature fails, or that records a forged pending VACUUM event; empty when intact';

-- ruvector_compact (as in sql/parts/20_tam.sql): moves segments into a tier.
CREATE FUNCTION @extschema@.ruvector_compact(tbl pg_catalog.regclass,
	tier pg_catalog.text DEFAULT NULL,
	OUT store pg_catalog.int4, OUT target pg_catalog.text,
	OUT segments_moved pg_catalog.int8, OUT vectors pg_catalog.int8,
	OUT bytes_before pg_catalog.int8, OUT bytes_after pg_catalog.int8,
	OUT seconds pg_catalog.float8)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_compact'
	LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.ruvector_compact(pg_catalog.regclass, pg_catalog.text) FROM PUBLIC;

-- One row per segment of a table's vector stores (src/tam/tam_tier.c): where
-- it lives, its vids, when it was last written or sealed, its access heat.
CREATE FUNCTION @extschema@.ruvector_segments(tbl pg_catalog.regclass,
	OUT store pg_catalog.int4, OUT segno pg_catalog.int8, OUT tier pg_catalog.text,
	OUT relation pg_catalog.regclass, OUT blocks pg_catalog.int4,
	OUT vectors pg_catalog.int8, OUT changed_at pg_catalog.timestamptz,
	OUT heat pg_catalog.float8)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_segments'
	LANGUAGE C STRICT VOLATILE;

-- Tier policy per table (src/tam/tam_tier.c): a segment whose last vector
-- was written longer ago than a tier's interval moves there (the coldest
-- such tier), by VACUUM or ruvector_compact(tbl), unless its access heat
-- (reads of its vectors, halved every heat_half_life) is at least
-- heat_threshold.  lossy_cold: cold segments keep codes only (no exact
-- floats).  A tier's tablespace (NULL: the table's) holds its relations.
-- Set with ruvector_set_tiers.
CREATE TABLE @extschema@.ruvector_tier_policy (
	relid pg_catalog.oid PRIMARY KEY,			-- the table
	warm_after pg_catalog.interval,
	cool_after pg_catalog.interval,
	cold_after pg_catalog.interval,
	lossy_cold pg_catalog.bool NOT NULL DEFAULT false,
	warm_tablespace pg_catalog.oid,
	cool_tablespace pg_catalog.oid,
	cold_tablespace pg_catalog.oid,
	heat_threshold pg_catalog.float8,
	heat_half_life pg_catalog.interval NOT NULL DEFAULT '1 hour'
);
REVOKE ALL ON @extschema@.ruvector_tier_policy FROM PUBLIC;
GRANT SELECT ON @extschema@.ruvector_tier_policy TO PUBLIC;
CREATE FUNCTION @extschema@.ruvector_set_tiers(tbl pg_catalog.regclass,
	warm_after pg_catalog.interval DEFAULT NULL,
	cool_after pg_catalog.interval DEFAULT NULL,
	cold_after pg_catalog.interval DEFAULT NULL,
	lossy_cold pg_catalog.bool DEFAULT false,
	warm_tablespace pg_catalog.name DEFAULT NULL,
	cool_tablespace pg_catalog.name DEFAULT NULL,
	cold_tablespace pg_catalog.name DEFAULT NULL,
	heat_threshold pg_catalog.float8 DEFAULT NULL,
	heat_half_life pg_catalog.interval DEFAULT '1 hour')
	RETURNS pg_catalog.void
	AS 'MODULE_PATHNAME', 'ruvector_set_tiers'
	LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.ruvector_set_tiers(pg_catalog.regclass, pg_catalog.interval,
	pg_catalog.interval, pg_catalog.interval, pg_catalog.bool, pg_catalog.name, pg_catalog.name,
	pg_catalog.name, pg_catalog.float8, pg_catalog.interval) FROM PUBLIC;

-- Progress of segment moves (ruvector_compact, and VACUUM's part on the
-- stores): one row per backend moving segments.
CREATE VIEW @extschema@.ruvector_compact_progress AS
	SELECT p.pid, p.datid, p.relid,
		CASE p.param1 WHEN 101 THEN 'moving segments' WHEN 102 THEN 'filling gaps'
			WHEN 103 THEN 'truncating' END AS phase,
		p.param2 AS segments_total, p.param3 AS segments_done, p.param4 AS vectors_moved
	FROM pg_catalog.pg_stat_get_progress_info('VACUUM') p
	WHERE p.param1 OPERATOR(pg_catalog.>=) 101;
GRANT SELECT ON @extschema@.ruvector_compact_progress TO PUBLIC;
