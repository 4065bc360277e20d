/*-------------------------------------------------------------------------
 *
 * store_audit.c
 *	  The audit log of storage events: a hash chain of rows in the table
 *	  ruvector_audit, each row's hash signed with the cluster's Ed25519
 *	  key, and the SQL functions that read the public key and verify the
 *	  chain.
 *
 * A row is (seq, logged_at, event, relation, relname, detail, prev_hash,
 * hash, signature).  Its hash is BLAKE2b-256 (libsodium's
 * crypto_generichash, 32-byte output, no key) of the message
 *
 *	"ruvector_audit 1" NUL, seq (8 bytes big-endian), logged_at (PostgreSQL
 *	timestamp, 8 bytes big-endian), relation OID (4 bytes big-endian), then
 *	event, relname and detail each as 4-byte big-endian length + bytes
 *	(relname and detail may be NULL: length 0xFFFFFFFF), then prev_hash
 *	(32 bytes)
 *
 * and its signature is the Ed25519 detached signature
 * (crypto_sign_detached) of those 32 hash bytes.  prev_hash is the hash of
 * the row with seq - 1, 32 zero bytes for seq 1.  So changing any field of
 * a row breaks its hash; recomputing the hash breaks its signature (the key
 * is not readable from SQL); deleting or reordering rows breaks the next
 * row's prev_hash or the sequence.  Deleting the newest rows is not
 * detectable from the chain alone.
 *
 * Invariants:
 *	- rows are appended only by RvAuditLog, under an EXCLUSIVE lock on the
 *	  table held to the end of the transaction, so seq values are gapless
 *	  and each row's prev_hash is the hash of the committed row before it
 *	  (an aborted transaction's row disappears with it, and with it the
 *	  successor it could have had);
 *	- the key is the 64-byte Ed25519 secret key (seed + public key) in
 *	  $PGDATA/ruvector_audit_ed25519.key, mode 0600, created on first use
 *	  by writing a temporary file and link(2)ing it into place, so that two
 *	  backends racing to create it agree on one key.  No SQL function
 *	  returns it; ruvector_audit_public_key() returns the 32-byte public
 *	  half;
 *	- nothing is appended during recovery (a standby) or in a read-only
 *	  transaction: the event is then reported as a WARNING only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "tam/store/rv_audit.h"
#include "tam/store/rv_store.h"

#define RV_AUDIT_KEY_FILE "ruvector_audit_ed25519.key"
#define RV_AUDIT_HASH_BYTES 32
#define RV_AUDIT_DOMAIN "ruvector_audit 1"

/* The cluster's secret key, once read; sk_loaded says whether sk is set. */
static unsigned char rv_audit_sk[crypto_sign_SECRETKEYBYTES];
static bool rv_audit_sk_loaded = false;

static void
RvAuditSodiumInit(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not initialize libsodium")));
}

/* Reads exactly n bytes of path into buf; false if the file does not exist. */
static bool
RvAuditReadKeyFile(const char *path, unsigned char *buf, size_t n)
{
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	ssize_t		got;

	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open audit key file \"%s\": %m", path)));
	}
	got = read(fd, buf, n);
	if (got != (ssize_t) n)
	{
		CloseTransientFile(fd);
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("audit key file \"%s\" does not hold a %zu-byte Ed25519 key",
						path, n)));
	}
	CloseTransientFile(fd);
	return true;
}

/*
 * RvAuditSecretKey: the cluster's Ed25519 secret key (crypto_sign_
 * SECRETKEYBYTES bytes), read from the data directory, created there on
 * first use (see the file header).  Raises an error when the file cannot
 * be read or written.
 */
static const unsigned char *
RvAuditSecretKey(void)
{
	char		path[MAXPGPATH];
	char		tmp[MAXPGPATH];
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	int			fd;

	if (rv_audit_sk_loaded)
		return rv_audit_sk;
	RvAuditSodiumInit();
	snprintf(path, sizeof(path), "%s/%s", DataDir, RV_AUDIT_KEY_FILE);
	if (!RvAuditReadKeyFile(path, rv_audit_sk, sizeof(rv_audit_sk)))
	{
		crypto_sign_keypair(pk, sk);
		snprintf(tmp, sizeof(tmp), "%s/%s.%d.tmp", DataDir, RV_AUDIT_KEY_FILE, MyProcPid);
		fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
								   S_IRUSR | S_IWUSR);
		if (fd < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create audit key file \"%s\": %m", tmp)));
		if (write(fd, sk, sizeof(sk)) != (ssize_t) sizeof(sk) || pg_fsync(fd) != 0)
		{
			int			save_errno = errno;

			CloseTransientFile(fd);
			unlink(tmp);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not write audit key file \"%s\": %m", tmp)));
		}
		CloseTransientFile(fd);
		sodium_memzero(sk, sizeof(sk));
		/* link, not rename: a key another backend put there first wins */
		if (link(tmp, path) != 0 && errno != EEXIST)
		{
			int			save_errno = errno;

			unlink(tmp);
			errno = save_errno;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not create audit key file \"%s\": %m", path)));
		}
		unlink(tmp);
		fsync_fname(DataDir, true);
		if (!RvAuditReadKeyFile(path, rv_audit_sk, sizeof(rv_audit_sk)))
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("audit key file \"%s\" disappeared", path)));
	}
	rv_audit_sk_loaded = true;
	return rv_audit_sk;
}

/* The 32-byte public half of the cluster key. */
static void
RvAuditPublicKey(unsigned char *pk)
{
	crypto_sign_ed25519_sk_to_pk(pk, RvAuditSecretKey());
}

static void
RvAuditPutU32(crypto_generichash_state *st, uint32 v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

	crypto_generichash_update(st, b, 4);
}

static void
RvAuditPutU64(crypto_generichash_state *st, uint64 v)
{
	RvAuditPutU32(st, (uint32) (v >> 32));
	RvAuditPutU32(st, (uint32) v);
}

static void
RvAuditPutText(crypto_generichash_state *st, const char *s, int len)
{
	if (s == NULL)
		RvAuditPutU32(st, 0xFFFFFFFF);
	else
	{
		RvAuditPutU32(st, (uint32) len);
		crypto_generichash_update(st, (const unsigned char *) s, len);
	}
}

/*
 * RvAuditHash: out (32 bytes) = the row hash of the file header's message.
 * relname and detail may be NULL; prev is 32 bytes.
 */
static void
RvAuditHash(int64 seq, TimestampTz at, const char *event, int eventlen, Oid relid,
			const char *relname, int relnamelen, const char *detail, int detaillen,
			const unsigned char *prev, unsigned char *out)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, RV_AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *) RV_AUDIT_DOMAIN,
							  sizeof(RV_AUDIT_DOMAIN));
	RvAuditPutU64(&st, (uint64) seq);
	RvAuditPutU64(&st, (uint64) at);
	RvAuditPutU32(&st, (uint32) relid);
	RvAuditPutText(&st, event, eventlen);
	RvAuditPutText(&st, relname, relnamelen);
	RvAuditPutText(&st, detail, detaillen);
	crypto_generichash_update(&st, prev, RV_AUDIT_HASH_BYTES);
	crypto_generichash_final(&st, out, RV_AUDIT_HASH_BYTES);
}

/* A bytea of the n bytes at p. */
static bytea *
RvAuditBytea(const unsigned char *p, int n)
{
	bytea	   *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return b;
}

/*
 * RvAuditTable: the audit table's schema-qualified, quoted name, and in
 * *owner its owner (the extension's owner: the extension script creates
 * it).  It lives in the schema of the store catalog.
 */
static char *
RvAuditTable(Oid *owner)
{
	Oid			nsp = get_rel_namespace(RvCatalogRelid(false));
	Oid			relid = get_relname_relid("ruvector_audit", nsp);
	HeapTuple	tup;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("ruvector_tam audit table \"ruvector_audit\" is missing"),
				 errhint("Update the extension with ALTER EXTENSION ruvector_tam UPDATE.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	*owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return quote_qualified_identifier(get_namespace_name(nsp), "ruvector_audit");
}

/* A text column of an SPI row as (pointer, length), NULL when null. */
static const char *
RvAuditTextCol(HeapTuple tup, TupleDesc desc, int col, int *len)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	text	   *t;

	if (isnull)
	{
		*len = 0;
		return NULL;
	}
	t = DatumGetTextPP(d);
	*len = VARSIZE_ANY_EXHDR(t);
	return VARDATA_ANY(t);
}

/* A bytea column of exactly n bytes, or NULL (null or another length). */
static const unsigned char *
RvAuditByteaCol(HeapTuple tup, TupleDesc desc, int col, int n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);
	bytea	   *b;

	if (isnull)
		return NULL;
	b = DatumGetByteaPP(d);
	if (VARSIZE_ANY_EXHDR(b) != n)
		return NULL;
	return (const unsigned char *) VARDATA_ANY(b);
}

/*
 * RvAuditAsOwner: runs fn(table, arg) connected to SPI, as the owner of
 * the audit table (the extension's owner: what it does is the system's,
 * not the caller's), in a restricted security context; table is the audit
 * table's qualified name.  The caller's user is restored on error too.
 */
static void
RvAuditAsOwner(void (*fn) (const char *table, void *arg), void *arg)
{
	Oid			owner;
	char	   *table = RvAuditTable(&owner);
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		fn(table, arg);
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

/* One event to append (RvAuditAppend). */
typedef struct RvAuditEvent
{
	const char *event;
	Oid			relid;
	const char *relname;		/* or NULL */
	const char *detail;			/* or NULL */
	TimestampTz at;
} RvAuditEvent;

/*
 * Appends the event arg (an RvAuditEvent) to table, under an EXCLUSIVE
 * lock on it held to the end of the transaction (RvAuditAsOwner's fn).
 */
static void
RvAuditAppend(const char *table, void *arg)
{
	const RvAuditEvent *ev = arg;
	unsigned char prev[RV_AUDIT_HASH_BYTES] = {0};
	unsigned char hash[RV_AUDIT_HASH_BYTES];
	unsigned char sig[crypto_sign_BYTES];
	int64		seq = 1;
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Oid			types[9] = {INT8OID, TIMESTAMPTZOID, TEXTOID, OIDOID, TEXTOID, TEXTOID,
	BYTEAOID, BYTEAOID, BYTEAOID};

	if (SPI_execute(psprintf("LOCK TABLE %s IN EXCLUSIVE MODE", table), false, 0) !=
		SPI_OK_UTILITY)
		elog(ERROR, "could not lock %s", table);
	/* not read-only: a fresh snapshot sees this command's earlier events too */
	if (SPI_execute(psprintf("SELECT seq, hash FROM %s ORDER BY seq DESC LIMIT 1",
							 table), false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", table);
	if (SPI_processed == 1)
	{
		const unsigned char *h = RvAuditByteaCol(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 2, RV_AUDIT_HASH_BYTES);
		bool		isnull;

		seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
										  &isnull)) + 1;
		if (h)
			memcpy(prev, h, RV_AUDIT_HASH_BYTES);
	}
	RvAuditHash(seq, ev->at, ev->event, strlen(ev->event), ev->relid, ev->relname,
				ev->relname ? strlen(ev->relname) : 0, ev->detail,
				ev->detail ? strlen(ev->detail) : 0, prev, hash);
	crypto_sign_detached(sig, NULL, hash, RV_AUDIT_HASH_BYTES, RvAuditSecretKey());

	values[0] = Int64GetDatum(seq);
	values[1] = TimestampTzGetDatum(ev->at);
	values[2] = CStringGetTextDatum(ev->event);
	values[3] = ObjectIdGetDatum(ev->relid);
	values[4] = ev->relname ? CStringGetTextDatum(ev->relname) : (Datum) 0;
	nulls[4] = ev->relname ? ' ' : 'n';
	values[5] = ev->detail ? CStringGetTextDatum(ev->detail) : (Datum) 0;
	nulls[5] = ev->detail ? ' ' : 'n';
	values[6] = PointerGetDatum(RvAuditBytea(prev, RV_AUDIT_HASH_BYTES));
	values[7] = PointerGetDatum(RvAuditBytea(hash, RV_AUDIT_HASH_BYTES));
	values[8] = PointerGetDatum(RvAuditBytea(sig, crypto_sign_BYTES));
	if (SPI_execute_with_args(psprintf("INSERT INTO %s (seq, logged_at, event, relation, "
									   "relname, detail, prev_hash, hash, signature) "
									   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
									   table),
							  9, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not append to %s", table);
}

/*
 * RvAuditLog: appends the event (a short name such as "verify_failure")
 * about relation relid (InvalidOid for none) with free-text detail to the
 * audit log, as the extension's owner.  Takes an EXCLUSIVE lock on
 * ruvector_audit until the end of the transaction.  During recovery or in
 * a read-only transaction logs a WARNING instead.  Errors from the table
 * or the key propagate.
 */
void
RvAuditLog(const char *event, Oid relid, const char *detail)
{
	RvAuditEvent ev;

	ev.event = event;
	ev.relid = relid;
	ev.relname = OidIsValid(relid) ? get_rel_name(relid) : NULL;
	ev.detail = detail;
	ev.at = GetCurrentTimestamp();
	if (RecoveryInProgress() || XactReadOnly)
	{
		ereport(WARNING,
				(errmsg("audit event \"%s\" on \"%s\" not logged: the transaction is read-only",
						event, ev.relname ? ev.relname : "-"),
				 errdetail("%s", detail ? detail : "")));
		return;
	}
	RvAuditAsOwner(RvAuditAppend, &ev);
}

PG_FUNCTION_INFO_V1(ruvector_audit_public_key);

/*
 * ruvector_audit_public_key() -> bytea: the 32-byte Ed25519 public key
 * that verifies the audit log's signatures (creating the cluster key if it
 * does not exist yet).
 */
Datum
ruvector_audit_public_key(PG_FUNCTION_ARGS)
{
	bytea	   *out = palloc(VARHDRSZ + crypto_sign_PUBLICKEYBYTES);

	SET_VARSIZE(out, VARHDRSZ + crypto_sign_PUBLICKEYBYTES);
	RvAuditPublicKey((unsigned char *) VARDATA(out));
	PG_RETURN_BYTEA_P(out);
}

/* What RvAuditWalk needs: the public key and where its rows go. */
typedef struct RvAuditWalkState
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	ReturnSetInfo *rsinfo;
	MemoryContext outer;		/* the tuplestore's memory context */
} RvAuditWalkState;

/*
 * Walks table (SPI connected: RvAuditAsOwner's fn) in seq order and
 * appends to the tuplestore of arg (an RvAuditWalkState) one (seq,
 * problem) row per failing row (see ruvector_audit_verify).
 */
static void
RvAuditWalk(const char *table, void *arg)
{
	RvAuditWalkState *ws = arg;
	const unsigned char *pk = ws->pk;
	ReturnSetInfo *rsinfo = ws->rsinfo;
	MemoryContext outer = ws->outer;
	unsigned char prev[RV_AUDIT_HASH_BYTES] = {0};
	int64		expect = 1;

	if (SPI_execute(psprintf("SELECT seq, logged_at, event, relation, relname, detail, "
							 "prev_hash, hash, signature FROM %s ORDER BY seq", table),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", table);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		seq = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 2, &isnull));
		Oid			relid = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		int			elen,
					rlen,
					dlen;
		const char *event = RvAuditTextCol(tup, desc, 3, &elen);
		const char *relname = RvAuditTextCol(tup, desc, 5, &rlen);
		const char *detail = RvAuditTextCol(tup, desc, 6, &dlen);
		const unsigned char *sprev = RvAuditByteaCol(tup, desc, 7, RV_AUDIT_HASH_BYTES);
		const unsigned char *shash = RvAuditByteaCol(tup, desc, 8, RV_AUDIT_HASH_BYTES);
		const unsigned char *ssig = RvAuditByteaCol(tup, desc, 9, crypto_sign_BYTES);
		unsigned char hash[RV_AUDIT_HASH_BYTES];
		const char *problem = NULL;

		CHECK_FOR_INTERRUPTS();
		RvAuditHash(seq, at, event, elen, relid, relname, rlen, detail, dlen,
					sprev ? sprev : prev, hash);
		if (seq != expect)
			problem = psprintf("seq %lld where %lld was expected: rows are missing or reordered",
							   (long long) seq, (long long) expect);
		else if (sprev == NULL || memcmp(sprev, prev, RV_AUDIT_HASH_BYTES) != 0)
			problem = "prev_hash is not the previous row's hash: the chain is broken";
		else if (shash == NULL || memcmp(shash, hash, RV_AUDIT_HASH_BYTES) != 0)
			problem = "hash does not match the row's contents";
		else if (ssig == NULL ||
				 crypto_sign_verify_detached(ssig, shash, RV_AUDIT_HASH_BYTES, pk) != 0)
			problem = "signature does not verify with the cluster's audit key";
		if (problem)
		{
			Datum		values[2];
			bool		nulls[2] = {0};
			MemoryContext old = MemoryContextSwitchTo(outer);

			values[0] = Int64GetDatum(seq);
			values[1] = CStringGetTextDatum(problem);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			MemoryContextSwitchTo(old);
		}
		/* continue the walk from what the row claims to be */
		memcpy(prev, shash ? shash : hash, RV_AUDIT_HASH_BYTES);
		expect = seq + 1;
	}
}

PG_FUNCTION_INFO_V1(ruvector_audit_verify);

/*
 * ruvector_audit_verify() -> setof (seq int8, problem text): walks the
 * audit log in seq order and returns one row per row that fails: a seq
 * out of sequence, a prev_hash that is not the previous row's hash, a hash
 * that does not match the row's fields, a signature the cluster's public
 * key does not verify.  Empty when the chain is intact.  Reads the table
 * as its owner (the extension's owner), under the caller's snapshot.
 */
Datum
ruvector_audit_verify(PG_FUNCTION_ARGS)
{
	RvAuditWalkState ws;

	InitMaterializedSRF(fcinfo, 0);
	ws.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ws.outer = CurrentMemoryContext;
	RvAuditPublicKey(ws.pk);
	RvAuditAsOwner(RvAuditWalk, &ws);
	return (Datum) 0;
}
