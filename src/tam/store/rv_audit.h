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

#endif							/* RV_AUDIT_H */
