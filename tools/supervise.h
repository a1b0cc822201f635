/* supervise.h — `faststack run` staying the program's parent: it
 * listens on a socket whose name the program's preloaded crash handler
 * finds in FASTSTACK_REPORT_SOCKET, symbolizes the raw reports handed to
 * it and prints them, passes signals on, and ends the way the program
 * ended (supervise.c). */
#ifndef FASTSTACK_SUPERVISE_H
#define FASTSTACK_SUPERVISE_H

#include <stddef.h>

typedef struct sup_options {
  int format;         /* FASTSTACK_FORMAT_GO, _GIN or _JSON */
  const char *output; /* append reports here; NULL: stderr */
  /* Once the program has ended, how long the last reports may take to
   * be symbolized and printed (an output nobody reads, a full pipe or a
   * stopped pager, must not hold the exit status forever); then the
   * supervisor ends anyway. */
  int print_wait_s;
} sup_options;

/* A listening socket in the abstract namespace, close-on-exec, its name
 * ("@faststack-PID-RANDOM", the form FASTSTACK_REPORT_SOCKET takes) into
 * name[0..cap); -1 when there is none. */
int sup_listen(char *name, size_t cap);

/* Runs argv (searched in PATH) as a child with the environment as it is
 * now, serves reports on lfd until it ends (and a bounded time after, for
 * reports still being written) and returns its exit status — or, when it
 * died by a signal, dies by the same signal (without a core of its own).
 * 126/127 when it could not be started (said on stderr). */
int sup_run(int lfd, char **argv, const sup_options *opt);

#endif
