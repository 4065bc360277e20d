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
