/*-------------------------------------------------------------------------
 *
 * ruhnsw_verify.h
 *	  The ruhnsw consistency check (src/index/hnswverify.c), registered
 *	  with ruvector_verify (RvRegisterIndexVerifier, src/tam/tam_verify.c)
 *	  by the index layer's init; the table layer includes no index header.
 *	  The caller knows nothing of the index's page layout: it hands over an
 *	  open heap and index and receives problems through a callback, one
 *	  call per problem.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUHNSW_VERIFY_H
#define RUHNSW_VERIFY_H

#include "utils/relcache.h"

#include "tam/rv_tam.h"

/* name of the access method whose indexes RuhnswVerify checks */
#define RUHNSW_AM_NAME	"ruhnsw"

/*
 * A problem found: kind (a short identifier such as "ruhnsw_link"), the
 * vector store concerned (-1 if none), the index block and vid concerned
 * (-1 if none) and a human-readable detail naming the index.
 */
typedef RvIndexVerifyReport RuhnswVerifyReport;

extern void RuhnswVerify(Relation heap, Relation index, RuhnswVerifyReport report, void *arg);

#endif							/* RUHNSW_VERIFY_H */
