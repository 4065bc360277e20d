/*-------------------------------------------------------------------------
 *
 * rv_audit.h
 *	  The store layer's audit log (store_audit.c): storage events appended
 *	  to the table ruvector_audit as a BLAKE2b-256 hash chain, each row
 *	  signed with the cluster's Ed25519 key.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RV_AUDIT_H
#define RV_AUDIT_H

/*
 * RvAuditLog: appends a storage event (a short name such as
 * "verify_failure") about relation relid (InvalidOid for none), with free
 * text detail (may be NULL), to the audit log.  Takes an EXCLUSIVE lock on
 * ruvector_audit to the end of the transaction; logs a WARNING instead
 * during recovery or in a read-only transaction.
 */
extern void RvAuditLog(const char *event, Oid relid, const char *detail);

/*
 * VACUUM's events, which wait in the ring of pending events of the store's
 * metapage (rv_store.h) until a drain appends them to ruvector_audit
 * (store_audit.c's header comment).
 */
struct RvStore;
struct RvTierMoves;
extern void RvAuditNoteMoves(struct RvStore *store, Oid table, int16 storeno,
							 const struct RvTierMoves *m);
extern void RvAuditCopyRing(struct RvStore *src, char *dstmetapage);
extern void RvAuditDrain(bool nowait);

#endif							/* RV_AUDIT_H */
