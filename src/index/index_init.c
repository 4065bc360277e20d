/* placeholder: replaced by the ruhnsw work */
#include "postgres.h"
#include "ruvector_tam.h"
void
RvIndexInit(void)
{
}
