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
