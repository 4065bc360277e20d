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
