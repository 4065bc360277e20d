-- SIMD distance kernels (src/simd): introspection of the run-time choice.
-- ruvector_simd_info() reports the kernels this backend uses ("active"),
-- those this CPU could use ("available", best first) and the CPU features
-- that decided it.  Plain invoker-rights C function; search_path-safe.

CREATE FUNCTION @extschema@.ruvector_simd_info() RETURNS pg_catalog.jsonb
	AS 'MODULE_PATHNAME', 'ruvector_simd_info'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ruvector_simd_info() IS
	'distance kernels in use in this backend, those the CPU supports, and its SIMD features';
