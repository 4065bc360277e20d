-- Base: library version.  Every object below is created in @extschema@ and
-- every reference to a core object is schema-qualified (pg_catalog), so the
-- script is search_path-safe.

CREATE FUNCTION @extschema@.ruvector_version() RETURNS pg_catalog.text
	AS 'MODULE_PATHNAME', 'ruvector_version'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
