/* cli.h — what every subcommand shares: usage errors that say why (and
 * exit 2), numbers checked against their range, and finding a preload
 * object. */
#ifndef FASTSTACK_CLI_H
#define FASTSTACK_CLI_H

#include <stddef.h>

/* Prints "faststack CMD: WHY" and "run 'faststack help CMD'" to stderr;
 * returns 2 (the status of a usage error). */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses v as a decimal integer in [lo, hi] into *out: 0, or a usage
 * error naming the option and the range (returns 2). */
int cli_int(const char *cmd, const char *opt, const char *v, long lo, long hi,
            int *out);

/* The preload object NAME ("libfaststack_preload.so"): in
 * FASTSTACK_PRELOAD_DIR when set, else next to this executable (the
 * build tree), else at REL from it (the install tree). Its real path
 * (LD_PRELOAD splits on spaces and colons) into out: 0, or -1. */
int cli_find_preload(const char *name, const char *rel, char *out, size_t cap);

#endif
