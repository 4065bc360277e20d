-- ruvector_tam 0.2.0 -> 0.3.0.
--
-- 0.3.0 keeps SQ8 search codes beside the vectors of new stores, and
-- ruvector_storage_report gains resident_bytes (the bytes searches keep
-- touching: codes and directory pages).  Stores written by 0.2.0 keep
-- their format (floats only) and are searched exactly; VACUUM FULL or
-- CLUSTER of their table rewrites them with codes.
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
