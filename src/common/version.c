/* version.c — the library's version (faststack.h states the scheme). */
#include "common/common.h"

FASTSTACK_API const char *faststack_version(void)
{
  return FASTSTACK_VERSION_STRING;
}

FASTSTACK_API unsigned faststack_version_number(void)
{
  return FASTSTACK_VERSION_NUMBER;
}
