/*-------------------------------------------------------------------------
 *
 * ruvector_tam.h
 *	  Per-layer init entry points called from _PG_init (src/ruvector_tam.c).
 *	  Each layer declares its real interface in its own header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RUVECTOR_TAM_H
#define RUVECTOR_TAM_H

#define RUVECTOR_TAM_VERSION "0.3.0"

extern void RvTypeInit(void);	/* src/toast */
extern void RvTamInit(void);	/* src/tam */
extern void RvIndexInit(void);	/* src/index */

#endif							/* RUVECTOR_TAM_H */
