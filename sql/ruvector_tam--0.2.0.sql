-- ruvector_tam 0.2.0: the install script of release 0.2.0, kept so that ALTER EXTENSION UPDATE from it can be tested; do not edit.
\echo Use "CREATE EXTENSION ruvector_tam" to load this file. \quit

-- ==== sql/parts/00_base.sql
-- Base: library version.  Every object below is created in @extschema@ and
-- every reference to a core object is schema-qualified (pg_catalog), so the
-- script is search_path-safe.

CREATE FUNCTION @extschema@.ruvector_version() RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'ruvector_version'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ==== sql/parts/05_simd.sql
-- SIMD distance kernels (src/simd): introspection of the run-time choice.
-- ruvector_simd_info() reports the kernels this backend uses ("active"),
-- those this CPU could use ("available", best first) and the CPU features
-- that decided it.  Plain invoker-rights C function; search_path-safe.

CREATE FUNCTION @extschema@.ruvector_simd_info() RETURNS pg_catalog.jsonb
	AS 'MODULE_PATHNAME', 'ruvector_simd_info'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ruvector_simd_info() IS
	'distance kernels in use in this backend, those the CPU supports, and its SIMD features';

-- ==== sql/parts/10_type.sql
-- The ruvector type (src/toast): a float4 vector with pgvector's layout,
-- formats, functions, operators, casts and aggregates, so pgvector queries
-- work after renaming the type.  The type's own I/O functions, its length
-- coercion and its cast to real[] carry a ruvector_ prefix (the type's
-- name); every other function has pgvector's name, including the
-- support functions that take no ruvector argument (array_to_vector,
-- vector_avg, vector_combine), which therefore share their signature with
-- pgvector's: the two extensions go into different schemas.  C symbols all
-- carry a ruvector_ prefix, so both libraries load in one backend.  The
-- ruhnsw index and its opclasses are created by the index layer
-- (sql/parts/3x).
--
-- Search_path safety: every object is created as @extschema@.name and
-- every core object is named pg_catalog.name.

-- ---- type and I/O ----

CREATE TYPE @extschema@.ruvector;

CREATE FUNCTION @extschema@.ruvector_in(pg_catalog.cstring, pg_catalog.oid, pg_catalog.int4)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.ruvector_out(@extschema@.ruvector)
	RETURNS pg_catalog.cstring
	AS 'MODULE_PATHNAME', 'ruvector_out'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.ruvector_typmod_in(pg_catalog.cstring[])
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'ruvector_typmod_in'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.ruvector_recv(pg_catalog.internal, pg_catalog.oid, pg_catalog.int4)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_recv'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.ruvector_send(@extschema@.ruvector)
	RETURNS pg_catalog.bytea
	AS 'MODULE_PATHNAME', 'ruvector_send'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- STORAGE external: vectors are incompressible floats, so never try pglz.
CREATE TYPE @extschema@.ruvector (
	INPUT = @extschema@.ruvector_in,
	OUTPUT = @extschema@.ruvector_out,
	TYPMOD_IN = @extschema@.ruvector_typmod_in,
	RECEIVE = @extschema@.ruvector_recv,
	SEND = @extschema@.ruvector_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);

COMMENT ON TYPE @extschema@.ruvector IS
	'float4 vector of 1..16000 dimensions, pgvector-compatible; text form [1,2,3]';

-- ---- functions ----

CREATE FUNCTION @extschema@.l2_distance(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.inner_product(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.cosine_distance(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_cosine_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l1_distance(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_l1_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_l2_squared_distance(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_l2_squared_distance'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_negative_inner_product(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_negative_inner_product'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_dims(@extschema@.ruvector)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'ruvector_dims'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_norm(@extschema@.ruvector)
	RETURNS pg_catalog.float8
	AS 'MODULE_PATHNAME', 'ruvector_norm'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.l2_normalize(@extschema@.ruvector)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_l2_normalize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.subvector(@extschema@.ruvector, pg_catalog.int4, pg_catalog.int4)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_subvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.binary_quantize(@extschema@.ruvector)
	RETURNS pg_catalog.bit
	AS 'MODULE_PATHNAME', 'ruvector_binary_quantize'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_add(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_add'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_sub(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_sub'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_mul(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_mul'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_concat(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_concat'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---- btree support ----

CREATE FUNCTION @extschema@.vector_lt(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'ruvector_lt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_le(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'ruvector_le'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_eq(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'ruvector_eq'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_ne(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'ruvector_ne'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_ge(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'ruvector_ge'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_gt(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.bool
	AS 'MODULE_PATHNAME', 'ruvector_gt'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_cmp(@extschema@.ruvector, @extschema@.ruvector)
	RETURNS pg_catalog.int4
	AS 'MODULE_PATHNAME', 'ruvector_cmp'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---- aggregates ----

CREATE FUNCTION @extschema@.vector_accum(pg_catalog.float8[], @extschema@.ruvector)
	RETURNS pg_catalog.float8[]
	AS 'MODULE_PATHNAME', 'ruvector_accum'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_combine(pg_catalog.float8[], pg_catalog.float8[])
	RETURNS pg_catalog.float8[]
	AS 'MODULE_PATHNAME', 'ruvector_combine'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.vector_avg(pg_catalog.float8[])
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_avg'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE AGGREGATE @extschema@.avg(@extschema@.ruvector) (
	SFUNC = @extschema@.vector_accum,
	STYPE = pg_catalog.float8[],
	FINALFUNC = @extschema@.vector_avg,
	COMBINEFUNC = @extschema@.vector_combine,
	INITCOND = '{0}',
	PARALLEL = SAFE
);

CREATE AGGREGATE @extschema@.sum(@extschema@.ruvector) (
	SFUNC = @extschema@.vector_add,
	STYPE = @extschema@.ruvector,
	COMBINEFUNC = @extschema@.vector_add,
	PARALLEL = SAFE
);

-- ---- casts ----

CREATE FUNCTION @extschema@.ruvector(@extschema@.ruvector, pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'ruvector_typmod_coerce'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'array_to_ruvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'array_to_ruvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'array_to_ruvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.array_to_vector(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool)
	RETURNS @extschema@.ruvector
	AS 'MODULE_PATHNAME', 'array_to_ruvector'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.ruvector_to_float4(@extschema@.ruvector, pg_catalog.int4, pg_catalog.bool)
	RETURNS pg_catalog.float4[]
	AS 'MODULE_PATHNAME', 'ruvector_to_float4'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (@extschema@.ruvector AS @extschema@.ruvector)
	WITH FUNCTION @extschema@.ruvector(@extschema@.ruvector, pg_catalog.int4, pg_catalog.bool)
	AS IMPLICIT;

CREATE CAST (@extschema@.ruvector AS pg_catalog.float4[])
	WITH FUNCTION @extschema@.ruvector_to_float4(@extschema@.ruvector, pg_catalog.int4, pg_catalog.bool)
	AS IMPLICIT;

CREATE CAST (pg_catalog.int4[] AS @extschema@.ruvector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.int4[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.float4[] AS @extschema@.ruvector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.float4[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.float8[] AS @extschema@.ruvector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.float8[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

CREATE CAST (pg_catalog.numeric[] AS @extschema@.ruvector)
	WITH FUNCTION @extschema@.array_to_vector(pg_catalog.numeric[], pg_catalog.int4, pg_catalog.bool)
	AS ASSIGNMENT;

-- ---- operators ----

CREATE OPERATOR @extschema@.<-> (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.l2_distance,
	COMMUTATOR = OPERATOR(@extschema@.<->)
);

CREATE OPERATOR @extschema@.<#> (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_negative_inner_product,
	COMMUTATOR = OPERATOR(@extschema@.<#>)
);

CREATE OPERATOR @extschema@.<=> (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.cosine_distance,
	COMMUTATOR = OPERATOR(@extschema@.<=>)
);

CREATE OPERATOR @extschema@.<+> (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.l1_distance,
	COMMUTATOR = OPERATOR(@extschema@.<+>)
);

CREATE OPERATOR @extschema@.+ (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_add,
	COMMUTATOR = OPERATOR(@extschema@.+)
);

-- a - b is not b - a: no commutator.
CREATE OPERATOR @extschema@.- (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_sub
);

CREATE OPERATOR @extschema@.* (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_mul,
	COMMUTATOR = OPERATOR(@extschema@.*)
);

CREATE OPERATOR @extschema@.|| (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_concat
);

CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);

CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
	MERGES
);

CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);

CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);

CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.ruvector, RIGHTARG = @extschema@.ruvector,
	FUNCTION = @extschema@.vector_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);

CREATE OPERATOR CLASS @extschema@.ruvector_ops
	DEFAULT FOR TYPE @extschema@.ruvector USING btree AS
	OPERATOR 1 @extschema@.<,
	OPERATOR 2 @extschema@.<=,
	OPERATOR 3 @extschema@.=,
	OPERATOR 4 @extschema@.>=,
	OPERATOR 5 @extschema@.>,
	FUNCTION 1 @extschema@.vector_cmp(@extschema@.ruvector, @extschema@.ruvector);

-- ---- memory accounting (src/toast/rv_memory.c) ----

CREATE FUNCTION @extschema@.ruvector_memory_detailed()
	RETURNS pg_catalog.jsonb
	AS 'MODULE_PATHNAME', 'ruvector_memory_detailed'
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION @extschema@.ruvector_reset_peak_memory()
	RETURNS pg_catalog.void
	AS 'MODULE_PATHNAME', 'ruvector_reset_peak_memory'
	LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- ==== sql/parts/20_tam.sql
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
	OUT relation pg_catalog.regclass)
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

-- ==== sql/parts/25_verify.sql
-- ruvector_verify: amcheck-style consistency check of a ruvector table's
-- vector stores and heap references (src/tam/tam_verify.c).  One row per
-- problem, none when healthy.  An administrator's tool: not for PUBLIC.
CREATE FUNCTION @extschema@.ruvector_verify(pg_catalog.regclass,
	OUT kind pg_catalog.text, OUT store pg_catalog.int4, OUT blkno pg_catalog.int8,
	OUT vid pg_catalog.int8, OUT detail pg_catalog.text)
	RETURNS SETOF pg_catalog.record
	AS 'MODULE_PATHNAME', 'ruvector_verify'
	LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION @extschema@.ruvector_verify(pg_catalog.regclass) FROM PUBLIC;
COMMENT ON FUNCTION @extschema@.ruvector_verify(pg_catalog.regclass) IS
	'checks a ruvector table''s vector stores and heap references; one row per problem';

-- ==== sql/parts/30_index.sql
-- The ruhnsw index access method: a graph-only HNSW over a ruvector
-- table's vector store, and its operator classes.  Support function 1
-- names the metric the index orders by.

CREATE FUNCTION @extschema@.ruhnsw_handler(pg_catalog.internal)
	RETURNS pg_catalog.index_am_handler
	AS 'MODULE_PATHNAME', 'ruhnsw_handler'
	LANGUAGE C;

CREATE ACCESS METHOD ruhnsw TYPE INDEX HANDLER @extschema@.ruhnsw_handler;
COMMENT ON ACCESS METHOD ruhnsw IS 'graph-only HNSW index over ruvector tables';

CREATE OPERATOR CLASS @extschema@.vector_l2_ops
	DEFAULT FOR TYPE @extschema@.ruvector USING ruhnsw AS
	OPERATOR 1 @extschema@.<-> (@extschema@.ruvector, @extschema@.ruvector) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.vector_l2_squared_distance(@extschema@.ruvector, @extschema@.ruvector);

CREATE OPERATOR CLASS @extschema@.vector_ip_ops
	FOR TYPE @extschema@.ruvector USING ruhnsw AS
	OPERATOR 1 @extschema@.<#> (@extschema@.ruvector, @extschema@.ruvector) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.vector_negative_inner_product(@extschema@.ruvector, @extschema@.ruvector);

CREATE OPERATOR CLASS @extschema@.vector_cosine_ops
	FOR TYPE @extschema@.ruvector USING ruhnsw AS
	OPERATOR 1 @extschema@.<=> (@extschema@.ruvector, @extschema@.ruvector) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.cosine_distance(@extschema@.ruvector, @extschema@.ruvector);

CREATE OPERATOR CLASS @extschema@.vector_l1_ops
	FOR TYPE @extschema@.ruvector USING ruhnsw AS
	OPERATOR 1 @extschema@.<+> (@extschema@.ruvector, @extschema@.ruvector) FOR ORDER BY pg_catalog.float_ops,
	FUNCTION 1 @extschema@.l1_distance(@extschema@.ruvector, @extschema@.ruvector);
