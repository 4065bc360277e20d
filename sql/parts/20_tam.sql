-- The ruvector table access method, its store catalog and admin functions.

-- Which vector stores each table storage has.  A table storage is the
-- table's (pg_class.reltablespace, pg_class.relfilenode): 0 for the
-- database's default tablespace.  Rows follow the table's storage, not its
-- OID; maintained by the AM.
CREATE TABLE @extschema@.ruvector_store (
	spcnode pg_catalog.oid NOT NULL,		-- table storage: reltablespace
	relnode pg_catalog.oid NOT NULL,		-- table storage: relfilenode
	storeno pg_catalog.int2 NOT NULL,		-- number in the table's vrefs
	attnum pg_catalog.int2 NOT NULL,		-- column
	dims pg_catalog.int4 NOT NULL,			-- dimensions of its vectors
	tier pg_catalog.int2 NOT NULL,			-- 0 hot, 1 warm, 2 cool, 3 cold
	store pg_catalog.oid NOT NULL,			-- the store relation (pg_class)
	PRIMARY KEY (spcnode, relnode, storeno, tier)
);
REVOKE ALL ON @extschema@.ruvector_store FROM PUBLIC;

-- The store relations live here (a temporary table's in its session's
-- temporary schema): catalogued tables of the internal access method
-- ruvector_store, members of this extension, refusing direct access.
CREATE SCHEMA ruvector_internal;
REVOKE ALL ON SCHEMA ruvector_internal FROM PUBLIC;
COMMENT ON SCHEMA ruvector_internal IS 'vector store relations of ruvector tables (internal)';

CREATE FUNCTION @extschema@.ruvector_store_handler(pg_catalog.internal)
	RETURNS pg_catalog.table_am_handler
	AS 'MODULE_PATHNAME', 'ruvector_store_handler'
	LANGUAGE C;

CREATE ACCESS METHOD ruvector_store TYPE TABLE HANDLER @extschema@.ruvector_store_handler;
COMMENT ON ACCESS METHOD ruvector_store IS 'internal: the vector store relations of ruvector tables';

CREATE FUNCTION @extschema@.ruvector_tam_handler(pg_catalog.internal)
	RETURNS pg_catalog.table_am_handler
	AS 'MODULE_PATHNAME', 'ruvector_tam_handler'
	LANGUAGE C;

CREATE ACCESS METHOD ruvector TYPE TABLE HANDLER @extschema@.ruvector_tam_handler;
COMMENT ON ACCESS METHOD ruvector IS 'heap rows with vectors in columnar, tiered vector stores';

-- Loads the library before any DDL so its drop hook sees every DROP.
CREATE FUNCTION @extschema@.ruvector_ddl_load()
	RETURNS pg_catalog.event_trigger
	AS 'MODULE_PATHNAME', 'ruvector_ddl_load'
	LANGUAGE C;
CREATE EVENT TRIGGER ruvector_ddl_load ON ddl_command_start
	EXECUTE FUNCTION @extschema@.ruvector_ddl_load();

-- Logical decoding would see vector references: no publication may include
-- a ruvector table (checked after every statement that could add one).
CREATE FUNCTION @extschema@.ruvector_ddl_check()
	RETURNS pg_catalog.event_trigger
	AS 'MODULE_PATHNAME', 'ruvector_ddl_check'
	LANGUAGE C;
CREATE EVENT TRIGGER ruvector_ddl_check ON ddl_command_end
	WHEN TAG IN ('CREATE PUBLICATION', 'ALTER PUBLICATION', 'CREATE TABLE',
				 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@.ruvector_ddl_check();

CREATE FUNCTION @extschema@.ruvector_storage_report(pg_catalog.regclass,
	OUT store pg_catalog.int4, OUT column_name pg_catalog.text, OUT dims pg_catalog.int4,
	OUT tier pg_catalog.text, OUT live_vectors pg_catalog.int8,
	OUT dead_vectors pg_catalog.int8, OUT free_slots pg_catalog.int8,
	OUT pages pg_catalog.int8, OUT bytes pg_catalog.int8,
	OUT relation pg_catalog.regclass, OUT resident_bytes pg_catalog.int8)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_storage_report'
	LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION @extschema@.ruvector_gc_orphans(
	OUT reason pg_catalog.text, OUT table_relfilenode pg_catalog.oid,
	OUT store pg_catalog.int4, OUT store_relation pg_catalog.oid)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_gc_orphans'
	LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.ruvector_gc_orphans() FROM PUBLIC;

-- Tiers (src/tam/tam_tier.c): moves a table's segments into a tier now, or
-- compacts them by the default policy; one row per store.  Needs ownership of
-- the table; revoked from PUBLIC as an administrative function.
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
