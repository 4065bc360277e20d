-- Privileges of the extension's objects: no SECURITY DEFINER function, the
-- admin functions (ruvector_gc_orphans, ruvector_verify,
-- ruvector_audit_verify, and ruvector_compact once it exists), the store
-- catalog and the audit log are revoked from
-- PUBLIC, so an ordinary role gets 42501 (insufficient_privilege) while it
-- can still use the type and its operators.
BEGIN;
SELECT plan(11);
CREATE ROLE rv_090_plain NOLOGIN;

-- sqlstate_as(role, sql): the SQLSTATE sql raises when run as role, or 'ok'.
CREATE FUNCTION pg_temp.sqlstate_as(r text, sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	BEGIN
		EXECUTE sql;
		st := 'ok';
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
	END;
	RESET ROLE;
	RETURN st;
END $$;

-- Admin functions of the extension present in this build.
CREATE TEMP TABLE admin_fn AS
	SELECT p.oid, p.oid::regprocedure AS fn,
		   format('SELECT * FROM %s(%s)', p.oid::regproc,
				  (SELECT string_agg(CASE WHEN t = 'regclass'::regtype THEN '''pg_class''::regclass'
									 ELSE 'NULL::' || t::regtype::text END, ', ')
				   FROM unnest(p.proargtypes) t)) AS call
	FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
	WHERE p.proname IN ('ruvector_gc_orphans', 'ruvector_verify', 'ruvector_audit_verify', 'ruvector_compact');

SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
		   JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ruvector_tam'
		   WHERE p.prosecdef), 0::bigint, 'no function of the extension is SECURITY DEFINER');
SELECT ok((SELECT count(*) FROM admin_fn WHERE fn::text LIKE 'ruvector_gc_orphans%') = 1,
	'ruvector_gc_orphans() is an admin function of the extension');
SELECT is((SELECT array_agg(fn::text ORDER BY fn::text) FROM admin_fn
		   WHERE has_function_privilege('public', oid, 'EXECUTE')), NULL,
	'no admin function is executable by PUBLIC');
SELECT is((SELECT array_agg(fn::text ORDER BY fn::text) FROM admin_fn
		   WHERE has_function_privilege('rv_090_plain', oid, 'EXECUTE')), NULL,
	'no admin function is executable by an ordinary role');
SELECT is(pg_temp.sqlstate_as('rv_090_plain', 'SELECT * FROM ruvector_gc_orphans()'), '42501',
	'ruvector_gc_orphans() as an ordinary role: 42501');
SELECT is((SELECT array_agg(fn::text || ': ' || pg_temp.sqlstate_as('rv_090_plain', call) ORDER BY fn::text)
		   FROM admin_fn WHERE pg_temp.sqlstate_as('rv_090_plain', call) <> '42501'), NULL,
	'every admin function present (gc_orphans, verify, audit_verify, compact) raises 42501 for an ordinary role');
SELECT is(pg_temp.sqlstate_as('rv_090_plain', 'SELECT * FROM ruvector_store'), '42501',
	'the store catalog ruvector_store is not readable by an ordinary role');
SELECT is(pg_temp.sqlstate_as('rv_090_plain', 'SELECT * FROM ruvector_audit'), '42501',
	'the audit log ruvector_audit is not readable by an ordinary role');
SELECT is(pg_temp.sqlstate_as('rv_090_plain',
		$$SELECT '[1,2]'::ruvector <-> '[1,3]', vector_dims('[1]'::ruvector), ruvector_version()$$),
	'ok', 'an ordinary role can use the type, its operators and functions');
SELECT lives_ok('SELECT count(*) FROM ruvector_gc_orphans()', 'a superuser can run ruvector_gc_orphans()');
SELECT is(current_user::text, session_user::text, 'role restored');

SELECT * FROM finish();
ROLLBACK;
