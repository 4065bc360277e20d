-- ruvector_tam 0.1.0 -> 0.2.0.
--
-- 0.2.0 keeps vector stores as catalogued relations (schema
-- ruvector_internal, access method ruvector_store); 0.1.0 kept them as
-- side files that its catalog ruvector_store named by relfilenode.  Those
-- files cannot be turned into relations from SQL, so the update refuses
-- while any 0.1.0 store exists, naming the tables that hold them: dump
-- those tables (pg_dump -t), drop them, update, and restore them; the
-- restore writes 0.2.0 stores.  Tables that never held a vector have no
-- store and need nothing.  ruhnsw indexes are rebuilt (their metapage
-- names the store relation now).
\echo Use "ALTER EXTENSION ruvector_tam UPDATE TO '0.2.0'" to load this file. \quit

DO $$
DECLARE
	tables pg_catalog.text;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('%s', c.oid::pg_catalog.regclass), ', ')
	  INTO tables
	  FROM @extschema@.ruvector_store s
	  LEFT JOIN pg_catalog.pg_class c
	    ON pg_catalog.oideq(c.relfilenode, s.relnode)
	   AND pg_catalog.oideq(c.relam, (SELECT a.oid FROM pg_catalog.pg_am a
									  WHERE pg_catalog.nameeq(a.amname, 'ruvector')));
	IF tables IS NULL THEN
		tables := '(stores of dropped tables; run ruvector_gc_orphans() first)';
	END IF;
	IF EXISTS (SELECT 1 FROM @extschema@.ruvector_store) THEN
		RAISE EXCEPTION 'cannot update ruvector_tam from 0.1.0 while tables hold 0.1.0 vector stores: %', tables
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Dump these tables with pg_dump -t, drop them, run ALTER EXTENSION ruvector_tam UPDATE, then restore them.';
	END IF;
END $$;

-- the store catalog names store relations (recreated: it is empty here,
-- and the library reads its columns by position)
DROP TABLE @extschema@.ruvector_store;
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

CREATE SCHEMA ruvector_internal;
REVOKE ALL ON SCHEMA ruvector_internal FROM PUBLIC;
COMMENT ON SCHEMA ruvector_internal IS 'vector store relations of ruvector tables (internal)';

CREATE FUNCTION @extschema@.ruvector_store_handler(pg_catalog.internal)
	RETURNS pg_catalog.table_am_handler
	AS 'MODULE_PATHNAME', 'ruvector_store_handler'
	LANGUAGE C;

CREATE ACCESS METHOD ruvector_store TYPE TABLE HANDLER @extschema@.ruvector_store_handler;
COMMENT ON ACCESS METHOD ruvector_store IS 'internal: the vector store relations of ruvector tables';

DROP FUNCTION @extschema@.ruvector_storage_report(pg_catalog.regclass);
CREATE FUNCTION @extschema@.ruvector_storage_report(pg_catalog.regclass,
	OUT store pg_catalog.int4, OUT column_name pg_catalog.text, OUT dims pg_catalog.int4,
	OUT tier pg_catalog.text, OUT live_vectors pg_catalog.int8,
	OUT dead_vectors pg_catalog.int8, OUT free_slots pg_catalog.int8,
	OUT pages pg_catalog.int8, OUT bytes pg_catalog.int8,
	OUT relation pg_catalog.regclass)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_storage_report'
	LANGUAGE C STRICT VOLATILE;

DROP FUNCTION @extschema@.ruvector_gc_orphans();
CREATE FUNCTION @extschema@.ruvector_gc_orphans(
	OUT reason pg_catalog.text, OUT table_relfilenode pg_catalog.oid,
	OUT store pg_catalog.int4, OUT store_relation pg_catalog.oid)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_gc_orphans'
	LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.ruvector_gc_orphans() FROM PUBLIC;

-- pgvector's names for the support functions that take no ruvector argument
ALTER FUNCTION @extschema@.ruvector_combine(pg_catalog.float8[], pg_catalog.float8[]) RENAME TO vector_combine;
ALTER FUNCTION @extschema@.ruvector_avg(pg_catalog.float8[]) RENAME TO vector_avg;
ALTER FUNCTION @extschema@.array_to_ruvector(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool) RENAME TO array_to_vector;
ALTER FUNCTION @extschema@.array_to_ruvector(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool) RENAME TO array_to_vector;
ALTER FUNCTION @extschema@.array_to_ruvector(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool) RENAME TO array_to_vector;
ALTER FUNCTION @extschema@.array_to_ruvector(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool) RENAME TO array_to_vector;

-- ruhnsw metapages of 0.2.0 name their store relation: rebuild (every
-- ruvector table is store-less here, so this is cheap)
DO $$
DECLARE
	idx pg_catalog.regclass;
BEGIN
	FOR idx IN SELECT i.indexrelid::pg_catalog.regclass FROM pg_catalog.pg_index i
			   JOIN pg_catalog.pg_class c ON pg_catalog.oideq(c.oid, i.indexrelid)
			   JOIN pg_catalog.pg_am a ON pg_catalog.oideq(a.oid, c.relam)
			   WHERE pg_catalog.nameeq(a.amname, 'ruhnsw')
	LOOP
		EXECUTE pg_catalog.format('REINDEX INDEX %s', idx);
	END LOOP;
END $$;
