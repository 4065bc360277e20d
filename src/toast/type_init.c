/* placeholder: replaced by the ruvector type work */
#include "postgres.h"
#include "ruvector_tam.h"
void
RvTypeInit(void)
{
}
