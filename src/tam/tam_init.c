/* placeholder: replaced by the table AM work */
#include "postgres.h"
#include "ruvector_tam.h"
void
RvTamInit(void)
{
}
