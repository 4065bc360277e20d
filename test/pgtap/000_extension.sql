-- The extension loads and reports its version.
SELECT plan(2);
SELECT is(ruvector_version(), '0.3.0', 'library version');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'ruvector_tam'), '0.3.0', 'extension version');
SELECT * FROM finish();
