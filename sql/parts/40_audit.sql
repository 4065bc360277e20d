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
	'one row per ruvector_audit row whose sequence, chain, hash or signature fails; empty when intact';
