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
