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
 *	- rows are appended only by RvAuditLog and RvAuditDrain (VACUUM's
 *	  events, below), under an EXCLUSIVE lock on the
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
 * VACUUM's events.  Lazy VACUUM (and autovacuum) moves, compacts and
 * truncates the segments of version-4 stores (tam_vacuum.c) without a
 * transaction id, so it cannot insert rows.  It notes each pass that did
 * something as pending events (RvAuditNoteMoves: "compact" with the
 * segments, vectors and bytes moved, "truncate" with the blocks freed) in
 * a ring in the store's own metapage (layout in rv_store.h), in one
 * GenericXLog record flushed before VACUUM goes on, so a crash from then
 * on keeps them.  Each pending event has a store-local sequence number
 * (from 1, never reused), its time, and a MAC: keyed BLAKE2b with a key
 * derived from the cluster's secret key, over the ring's random id and the
 * event.  A drain (RvAuditDrain) reads the rings of every store in the
 * store catalog and, in the caller's transaction, appends each event
 * beyond the ring's drained position to ruvector_audit (the names
 * ruvector_compact uses; the detail says VACUUM, when, which store and
 * which pending event), then sets the position in the table
 * ruvector_audit_drained (ring id -> last drained sequence number).
 * Invariants:
 *	- only VACUUM writes a ring, never the drain: a drain whose transaction
 *	  aborts takes its audit rows and its positions with it, and the events
 *	  are still in the ring for the next drain; a committed drain's rows
 *	  and positions commit together, so each event is logged once;
 *	- the position is keyed by the ring id, which a store's copy keeps
 *	  (VACUUM FULL and CLUSTER copy the metapage, or RvAuditCopyRing), so a
 *	  copy's events are not logged again;
 *	- a full ring overwrites its oldest event; the drain logs a
 *	  "vacuum_lost" event with the count and sequence numbers of the events
 *	  it finds overwritten;
 *	- an event whose slot holds another sequence number or whose MAC does
 *	  not verify, or a ring whose newest event is older than its drained
 *	  position, is not logged as what it claims: the drain logs a
 *	  "vacuum_forged" event instead, and ruvector_audit_verify reports
 *	  every such row;
 *	- drains happen in RvAuditLog (before its own event), and in
 *	  ruvector_audit_verify, ruvector_verify, ruvector_compact,
 *	  ruvector_storage_report, DROP TABLE and TRUNCATE (before the stores
 *	  go); not during recovery, in a read-only transaction or in parallel
 *	  mode (the events wait).
 * Unlogged stores lose their ring (with their contents) in a crash.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "access/generic_xlog.h"
#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/relfilenodemap.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "tam/store/rv_audit.h"
#include "tam/store/rv_store.h"
#include "tam/store/store_int.h"

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
 * a read-only transaction logs a WARNING instead.  Drains VACUUM's
 * pending events first (RvAuditDrain).  Errors from the table or the key
 * propagate.
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
	/* VACUUM's pending events happened before this one */
	RvAuditDrain(false);
	ev.at = GetCurrentTimestamp();
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

	/* not read-only: a fresh snapshot sees what this transaction drained */
	if (SPI_execute(psprintf("SELECT seq, logged_at, event, relation, relname, detail, "
							 "prev_hash, hash, signature FROM %s ORDER BY seq", table),
					false, 0) != SPI_OK_SELECT)
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
		else if (elen == strlen("vacuum_forged") && memcmp(event, "vacuum_forged", elen) == 0)
			problem = psprintf("a drain found a forged pending VACUUM event: %.*s",
							   dlen, detail ? detail : "");
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
 * key does not verify, and a "vacuum_forged" row (a drain found a forged
 * pending VACUUM event: see the file header).  Empty when the chain is
 * intact and no forgery was found.  Drains VACUUM's pending events first
 * (RvAuditDrain: not in a read-only transaction), then reads the table as
 * its owner (the extension's owner) under a fresh snapshot.
 */
Datum
ruvector_audit_verify(PG_FUNCTION_ARGS)
{
	RvAuditWalkState ws;

	InitMaterializedSRF(fcinfo, 0);
	ws.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ws.outer = CurrentMemoryContext;
	RvAuditDrain(false);
	RvAuditPublicKey(ws.pk);
	RvAuditAsOwner(RvAuditWalk, &ws);
	return (Datum) 0;
}


/* ---- VACUUM's pending events: the ring and its drain ---- */

StaticAssertDecl(sizeof(RvStoreMeta) <= RV_AUDIT_RING_HDR_OFF,
				 "the ring header must follow RvStoreMeta");
StaticAssertDecl(RV_AUDIT_RING_HDR_OFF + sizeof(RvAuditRingHeader) <= RV_META_CENTROID_OFF,
				 "the ring header must precede the centroid");
StaticAssertDecl(sizeof(RvAuditPending) == 88,
				 "a pending event has no padding (its bytes are MACed)");

#define RV_AUDIT_MAC_DOMAIN "ruvector_audit pending 1"
#define RV_AUDIT_DRAINED "ruvector_audit_drained"

/* The ring header of a metapage. */
static inline RvAuditRingHeader *
RvAuditRingHdr(char *metapage)
{
	return (RvAuditRingHeader *) (metapage + RV_PAGE_PAYLOAD_START + RV_AUDIT_RING_HDR_OFF);
}

/* The ring's slots of a metapage whose RvStoreMeta is meta. */
static inline RvAuditPending *
RvAuditRingSlots(char *metapage, const RvStoreMeta *meta)
{
	return (RvAuditPending *) (metapage + RV_PAGE_PAYLOAD_START + RvAuditRingOffset(meta));
}

/*
 * out (RV_AUDIT_MAC_BYTES) = the MAC of pending event ev of ring ring_id:
 * BLAKE2b keyed with a key derived from the cluster's secret key (so only
 * code that can read the key file makes one), over a domain string, the
 * ring id and the event's bytes before its mac.
 */
static void
RvAuditPendingMac(uint64 ring_id, const RvAuditPending *ev, unsigned char *out)
{
	unsigned char key[crypto_generichash_KEYBYTES];
	crypto_generichash_state st;

	crypto_generichash(key, sizeof(key), (const unsigned char *) RV_AUDIT_MAC_DOMAIN,
					   sizeof(RV_AUDIT_MAC_DOMAIN), RvAuditSecretKey(),
					   crypto_sign_SECRETKEYBYTES);
	crypto_generichash_init(&st, key, sizeof(key), RV_AUDIT_MAC_BYTES);
	crypto_generichash_update(&st, (const unsigned char *) &ring_id, sizeof(ring_id));
	crypto_generichash_update(&st, (const unsigned char *) ev, offsetof(RvAuditPending, mac));
	crypto_generichash_final(&st, out, RV_AUDIT_MAC_BYTES);
	sodium_memzero(key, sizeof(key));
}

/* Puts event ev (its seq the ring's next) into the ring of metapage page. */
static void
RvAuditRingPut(char *page, RvAuditPending *ev)
{
	RvStoreMeta *meta = (RvStoreMeta *) (page + RV_PAGE_PAYLOAD_START);
	RvAuditRingHeader *h = RvAuditRingHdr(page);
	uint32		cap = RvAuditRingCapacity(meta);

	ev->seq = ++h->last_seq;
	RvAuditPendingMac(h->ring_id, ev, ev->mac);
	if (cap > 0)
		RvAuditRingSlots(page, meta)[(ev->seq - 1) % cap] = *ev;
}

/*
 * RvAuditNoteMoves: records what one VACUUM pass of moves over store
 * (store number storeno of table) did, m as RvTierMoveStore filled it, as
 * pending events in the ring of the store's metapage: a "compact" event
 * when it moved segments, a "truncate" event when it freed blocks, none
 * otherwise (and none for a store before version 4, which has no moves).
 * Needs no transaction id: one GenericXLog record on the metapage (under
 * its exclusive buffer lock), flushed to disk before returning, so the
 * events survive a crash from then on.  Gives the ring its random id on
 * its first event.  Reads the cluster's key (creating it on first use);
 * errors from that propagate.
 */
void
RvAuditNoteMoves(RvStore *store, Oid table, int16 storeno, const RvTierMoves *m)
{
	GenericXLogState *state;
	RvStoreMeta *meta;
	Buffer		buf;
	char	   *page;
	RvAuditRingHeader *h;
	RvAuditPending ev;
	uint64		ring_id = 0;
	XLogRecPtr	lsn;

	if (store->meta_version < RV_STORE_META_V4 ||
		(RvTierMovesTotal(m).segments == 0 && m->hot_blocks_freed + m->tier_blocks_freed == 0))
		return;
	/* file access and randomness before the buffer lock */
	(void) RvAuditSecretKey();
	while (ring_id == 0)
		if (!pg_strong_random(&ring_id, sizeof(ring_id)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random audit ring id")));

	buf = RvMetaLock(store, BUFFER_LOCK_EXCLUSIVE, &meta);
	state = GenericXLogStart(store->rel);
	page = (char *) GenericXLogRegisterBuffer(state, buf, 0);
	meta = (RvStoreMeta *) (page + RV_PAGE_PAYLOAD_START);
	h = RvAuditRingHdr(page);
	if (h->ring_id == 0)
	{
		h->ring_id = ring_id;
		h->last_seq = 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.at = GetCurrentTimestamp();
	ev.table = table;
	ev.storeno = storeno;
	for (int k = 0; k < RV_MOVE_KINDS; k++)
	{
		if (m->kind[k].segments == 0)
			continue;
		ev.event = k == RV_MOVE_SEAL ? RV_AUDIT_EV_SEAL :
			k == RV_MOVE_MIGRATE ? RV_AUDIT_EV_MIGRATE : RV_AUDIT_EV_COMPACT;
		ev.segments = m->kind[k].segments;
		ev.vectors = m->kind[k].vectors;
		ev.bytes_before = m->kind[k].bytes_before;
		ev.bytes_after = m->kind[k].bytes_after;
		RvAuditRingPut(page, &ev);
	}
	if (m->hot_blocks_freed + m->tier_blocks_freed > 0)
	{
		ev.event = RV_AUDIT_EV_TRUNCATE;
		ev.segments = ev.vectors = ev.bytes_before = ev.bytes_after = 0;
		ev.hot_blocks_freed = m->hot_blocks_freed;
		ev.tier_blocks_freed = m->tier_blocks_freed;
		RvAuditRingPut(page, &ev);
	}
	/* the ring lies below pd_lower, so GenericXLog keeps and logs it */
	((PageHeader) page)->pd_lower =
		Max(((PageHeader) page)->pd_lower,
			RV_PAGE_PAYLOAD_START + RvAuditRingOffset(meta) +
			RvAuditRingCapacity(meta) * sizeof(RvAuditPending));
	lsn = GenericXLogFinish(state);
	UnlockReleaseBuffer(buf);
	if (!XLogRecPtrIsInvalid(lsn))
		XLogFlush(lsn);
}

/*
 * RvAuditCopyRing: copies the ring (header and slots) of src's metapage
 * into dstmetapage, the metapage of src's rewrite (RvStoreRewrite; the
 * caller holds it registered in a GenericXLog record), when both are of
 * version 4 and the rings have the same capacity, so that pending events
 * survive VACUUM FULL and CLUSTER with their ring id (and so are drained
 * once).  Share-locks src's metapage.
 */
void
RvAuditCopyRing(RvStore *src, char *dstmetapage)
{
	RvStoreMeta *smeta;
	RvStoreMeta *dmeta = (RvStoreMeta *) (dstmetapage + RV_PAGE_PAYLOAD_START);
	Buffer		buf;
	char	   *spage;
	uint32		cap;

	if (src->meta_version < RV_STORE_META_V4 || dmeta->version < RV_STORE_META_V4)
		return;
	buf = RvMetaLock(src, BUFFER_LOCK_SHARE, &smeta);
	spage = (char *) BufferGetPage(buf);
	cap = RvAuditRingCapacity(smeta);
	if (RvAuditRingHdr(spage)->ring_id != 0 && cap == RvAuditRingCapacity(dmeta))
	{
		*RvAuditRingHdr(dstmetapage) = *RvAuditRingHdr(spage);
		memcpy(RvAuditRingSlots(dstmetapage, dmeta), RvAuditRingSlots(spage, smeta),
			   cap * sizeof(RvAuditPending));
		((PageHeader) dstmetapage)->pd_lower =
			Max(((PageHeader) dstmetapage)->pd_lower,
				RV_PAGE_PAYLOAD_START + RvAuditRingOffset(dmeta) + cap * sizeof(RvAuditPending));
	}
	UnlockReleaseBuffer(buf);
}

/* A store's ring as the drain read it. */
typedef struct RvDrainRing
{
	Oid			store;			/* the store relation */
	Oid			table;			/* its table, or InvalidOid if not found */
	uint64		ring_id;
	uint64		last_seq;
	uint32		cap;
	RvAuditPending *slots;		/* cap of them */
} RvDrainRing;

/*
 * The rings with events of every store of the database listed in the store
 * catalog that can be read now: a store locked by someone else (DDL) or
 * another session's temporary store is skipped; its events wait for a
 * later drain.  Each metapage is read under a share lock, once.
 */
static List *
RvAuditCollectRings(void)
{
	List	   *rows = RvCatalogListStores(NULL, true);
	List	   *rings = NIL;
	ListCell   *lc;

	foreach(lc, rows)
	{
		RvCatalogStore *cs = lfirst(lc);
		Relation	rel;
		Buffer		buf;
		char	   *page;
		RvPageOpaque *op;
		RvStoreMeta *meta;
		RvAuditRingHeader *h;

		CHECK_FOR_INTERRUPTS();
		if (cs->tier != RV_TIER_HOT)
			continue;
		if (!ConditionalLockRelationOid(cs->relid, AccessShareLock))
			continue;
		rel = try_relation_open(cs->relid, NoLock);
		if (rel == NULL)
		{
			UnlockRelationOid(cs->relid, AccessShareLock);
			continue;
		}
		if (RELATION_IS_OTHER_TEMP(rel) || RelationGetNumberOfBlocks(rel) == 0)
		{
			relation_close(rel, AccessShareLock);
			continue;
		}
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, 0, RBM_NORMAL, NULL);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = (char *) BufferGetPage(buf);
		op = (RvPageOpaque *) PageGetSpecialPointer((Page) page);
		meta = (RvStoreMeta *) (page + RV_PAGE_PAYLOAD_START);
		h = RvAuditRingHdr(page);
		if (!PageIsNew((Page) page) && op->magic == RV_STORE_MAGIC && op->kind == RV_PAGE_META &&
			meta->magic == RV_STORE_MAGIC && meta->version >= RV_STORE_META_V4 &&
			meta->version <= RV_STORE_META_V5 &&
			h->ring_id != 0)
		{
			RvDrainRing *r = palloc0(sizeof(RvDrainRing));

			r->store = cs->relid;
			r->table = RelidByRelfilenode(RvStorageSpcKey(cs->storage.spcNode),
										  cs->storage.relNode);
			r->ring_id = h->ring_id;
			r->last_seq = h->last_seq;
			r->cap = RvAuditRingCapacity(meta);
			r->slots = palloc(sizeof(RvAuditPending) * Max(r->cap, 1));
			memcpy(r->slots, RvAuditRingSlots(page, meta), sizeof(RvAuditPending) * r->cap);
			rings = lappend(rings, r);
		}
		UnlockReleaseBuffer(buf);
		relation_close(rel, AccessShareLock);
	}
	return rings;
}

/* The name ruvector_compact gives an event code. */
static const char *
RvAuditEventName(uint16 event)
{
	switch (event)
	{
		case RV_AUDIT_EV_SEAL:
			return "seal";
		case RV_AUDIT_EV_COMPACT:
			return "compact";
		case RV_AUDIT_EV_TRUNCATE:
			return "truncate";
		case RV_AUDIT_EV_MIGRATE:
			return "migrate";
	}
	return NULL;
}

/* The drained position of ring ring_id (SPI connected), 0 when it has none. */
static uint64
RvAuditDrainedPos(const char *drained, uint64 ring_id, bool *found)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum((int64) ring_id)};
	bool		isnull;

	/*
	 * not read-only: after the lock, a fresh snapshot sees the last drain;
	 * the operator qualified, as the caller's search_path is in effect
	 */
	if (SPI_execute_with_args(psprintf("SELECT drained FROM %s WHERE ring OPERATOR(pg_catalog.=) $1",
									   drained),
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", drained);
	*found = SPI_processed == 1;
	if (!*found)
		return 0;
	return (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											   1, &isnull));
}

/* One row of the drain table (RvAuditDrainedAll). */
typedef struct RvDrainedRow
{
	uint64		ring_id;
	uint64		drained;
} RvDrainedRow;

static int
RvDrainedRowCmp(const void *a, const void *b)
{
	uint64		x = ((const RvDrainedRow *) a)->ring_id;
	uint64		y = ((const RvDrainedRow *) b)->ring_id;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * Every row of the drain table (SPI connected), sorted by ring id, in a
 * palloc'd array of *n entries: one query however many rings there are.
 */
static RvDrainedRow *
RvAuditDrainedAll(const char *drained, int *n)
{
	RvDrainedRow *rows;

	if (SPI_execute(psprintf("SELECT ring, drained FROM %s", drained), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", drained);
	*n = (int) SPI_processed;
	rows = palloc(sizeof(RvDrainedRow) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		bool		isnull;

		rows[i].ring_id = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 1, &isnull));
		rows[i].drained = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
															   SPI_tuptable->tupdesc, 2, &isnull));
	}
	qsort(rows, *n, sizeof(RvDrainedRow), RvDrainedRowCmp);
	return rows;
}

/* What RvAuditDrainFn needs: the rings read, the drain table's name. */
typedef struct RvDrainState
{
	List	   *rings;
	const char *drained;
	bool		nowait;			/* LOCK ... NOWAIT */
} RvDrainState;

/* Appends an event about table relid (RvAuditAppend) now. */
static void
RvAuditDrainAppend(const char *table, const char *event, Oid relid, const char *detail)
{
	RvAuditEvent ev;

	ev.event = event;
	ev.relid = relid;
	ev.relname = OidIsValid(relid) ? get_rel_name(relid) : NULL;
	ev.detail = detail;
	ev.at = GetCurrentTimestamp();
	RvAuditAppend(table, &ev);
}

/*
 * Appends to table (SPI connected, as its owner: RvAuditAsOwner's fn) the
 * events of the rings of arg (an RvDrainState) that are beyond their
 * drained position, then moves the positions to the rings' newest events,
 * all in the caller's transaction.  The positions are read in one query
 * first: when no ring has anything new, the audit lock is not taken;
 * else the lock is taken and the rings and positions re-read under it.  See the file header's part on
 * pending events for what is appended.
 */
static void
RvAuditDrainFn(const char *table, void *arg)
{
	RvDrainState *ds = arg;
	const char *drained = ds->drained;
	bool		pending = false;
	ListCell   *lc;
	int			nrows;
	RvDrainedRow *rows = RvAuditDrainedAll(drained, &nrows);
	List	   *rings;

	foreach(lc, ds->rings)
	{
		RvDrainRing *r = lfirst(lc);
		RvDrainedRow key = {r->ring_id, 0};
		RvDrainedRow *row = bsearch(&key, rows, nrows, sizeof(RvDrainedRow), RvDrainedRowCmp);

		if ((row ? row->drained : 0) != r->last_seq)
			pending = true;
	}
	if (!pending)
		return;

	/*
	 * Something new: under the audit lock, no other drain can commit, so
	 * the rings read again now are at least as new as any position
	 * committed (VACUUM only adds events), and each position is re-read
	 * as committed now
	 */
	if (SPI_execute(psprintf("LOCK TABLE %s IN EXCLUSIVE MODE%s", table,
							 ds->nowait ? " NOWAIT" : ""), false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock %s", table);
	rings = RvAuditCollectRings();
	foreach(lc, rings)
	{
		RvDrainRing *r = lfirst(lc);
		bool		found;
		uint64		pos = RvAuditDrainedPos(drained, r->ring_id, &found);
		uint64		first_kept;
		Oid			types[3] = {INT8OID, OIDOID, INT8OID};
		Datum		values[3];

		CHECK_FOR_INTERRUPTS();
		if (pos == r->last_seq)
			continue;
		if (r->last_seq < pos)
		{
			/* the ring went back (a forged or restored metapage): start over from it */
			RvAuditDrainAppend(table, "vacuum_forged", r->table,
							   psprintf("store relation %u: its ring of pending VACUUM events "
										"went back from event " UINT64_FORMAT " (drained) to "
										UINT64_FORMAT, r->store, pos, r->last_seq));
		}
		else
		{
			first_kept = r->cap == 0 ? r->last_seq + 1 :
				(r->last_seq > r->cap ? r->last_seq - r->cap + 1 : 1);
			if (pos + 1 < first_kept)
				RvAuditDrainAppend(table, "vacuum_lost", r->table,
								   psprintf("store relation %u: " UINT64_FORMAT " VACUUM events ("
											UINT64_FORMAT " to " UINT64_FORMAT ") were overwritten "
											"in its ring before they were drained",
											r->store, first_kept - pos - 1, pos + 1,
											first_kept - 1));
			for (uint64 s = Max(pos + 1, first_kept); s <= r->last_seq; s++)
			{
				const RvAuditPending *ev = &r->slots[(s - 1) % r->cap];
				unsigned char mac[RV_AUDIT_MAC_BYTES];
				const char *name = RvAuditEventName(ev->event);
				const char *problem = NULL;
				char	   *at;

				CHECK_FOR_INTERRUPTS();
				RvAuditPendingMac(r->ring_id, ev, mac);
				if (ev->seq != s)
					problem = "its slot holds another sequence number";
				else if (memcmp(mac, ev->mac, RV_AUDIT_MAC_BYTES) != 0)
					problem = "its MAC does not verify with the cluster's audit key";
				else if (name == NULL)
					problem = "its event code is unknown";
				if (problem)
				{
					RvAuditDrainAppend(table, "vacuum_forged", r->table,
									   psprintf("store relation %u: pending VACUUM event "
												UINT64_FORMAT " not logged: %s",
												r->store, s, problem));
					continue;
				}
				at = pstrdup(timestamptz_to_str(ev->at));
				if (ev->event == RV_AUDIT_EV_TRUNCATE)
					RvAuditDrainAppend(table, name, ev->table,
									   psprintf("VACUUM at %s, store %d: " UINT64_FORMAT " hot and "
												UINT64_FORMAT " tier blocks freed (pending event "
												UINT64_FORMAT " of store relation %u)",
												at, ev->storeno, ev->hot_blocks_freed,
												ev->tier_blocks_freed, s, r->store));
				else
					RvAuditDrainAppend(table, name, ev->table,
									   psprintf("VACUUM at %s, store %d: " UINT64_FORMAT
												" segments, " UINT64_FORMAT " vectors to their tiers, "
												UINT64_FORMAT " bytes before, " UINT64_FORMAT
												" after (pending event " UINT64_FORMAT
												" of store relation %u)",
												at, ev->storeno, ev->segments, ev->vectors,
												ev->bytes_before, ev->bytes_after, s, r->store));
			}
		}
		values[0] = Int64GetDatum((int64) r->ring_id);
		values[1] = ObjectIdGetDatum(r->store);
		values[2] = Int64GetDatum((int64) r->last_seq);
		if (SPI_execute_with_args(psprintf("INSERT INTO %s (ring, store, drained) VALUES ($1, $2, $3) "
										   "ON CONFLICT (ring) DO UPDATE SET store = EXCLUDED.store, "
										   "drained = EXCLUDED.drained", drained),
								  3, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not update %s", drained);
	}
}

/*
 * RvAuditDrain: appends VACUUM's pending events of every readable store
 * of the database to the audit log (RvAuditDrainFn), as the extension's
 * owner, in a subtransaction of the caller's: if that fails (a conflict
 * with a concurrent drain under REPEATABLE READ, say), it is rolled back,
 * the events stay pending and a WARNING says why; a cancel is re-thrown.
 * With nowait, when another transaction holds the audit lock, it gives up
 * at once and quietly (the events wait for a later drain) instead of
 * waiting for the lock.
 * Does nothing during recovery, in a read-only transaction, in parallel
 * mode, without the extension's drain table (an older extension script),
 * or when no ring has events.  Keeps the audit table's EXCLUSIVE lock to
 * the end of the transaction when it appended anything.
 */
void
RvAuditDrain(bool nowait)
{
	Oid			nsp;
	List	   *rings;
	RvDrainState ds;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	if (RecoveryInProgress() || XactReadOnly || IsInParallelMode())
		return;
	nsp = get_rel_namespace(RvCatalogRelid(true));
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid(RV_AUDIT_DRAINED, nsp)) ||
		!OidIsValid(get_relname_relid("ruvector_audit", nsp)))
		return;
	rings = RvAuditCollectRings();
	if (rings == NIL)
		return;
	ds.rings = rings;
	ds.nowait = nowait;
	ds.drained = quote_qualified_identifier(get_namespace_name(nsp), RV_AUDIT_DRAINED);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		RvAuditAsOwner(RvAuditDrainFn, &ds);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		ereport(nowait && edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ? DEBUG1 : WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("VACUUM's pending audit events were not logged: %s", edata->message),
				 errhint("They stay pending and are logged by a later drain.")));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}
