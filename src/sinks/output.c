/* output.c — where crash reports and signal-triggered dumps are written:
 * stderr as it was when faststack was installed, or the file
 * FASTSTACK_OUTPUT names.
 *
 * stderr: a private duplicate of descriptor 2 is taken at install (with
 * the identity of what it refers to), so a program that closes its
 * stderr and opens a data file, which then gets descriptor 2, does not
 * receive the report in that file. If the program closed the duplicate
 * too, descriptor 2 is used when it still refers to the same file, or
 * when it is not a regular file (a pipe, socket or terminal the program
 * moved stderr to); a regular file that was not stderr at install is
 * never written to.
 *
 * The file is opened for each report (O_APPEND: reports of several
 * processes into one file do not overwrite each other) with open(2),
 * which is async-signal-safe, and O_NONBLOCK: a FIFO nobody reads from
 * fails at once (ENXIO) instead of blocking the crashing process; the
 * report then goes to stderr. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sinks/sinks.h"

/* The private duplicate's number is taken from here up: programs that
 * expect their first open to get a low number keep getting it. */
#define FS_OUTPUT_FD_MIN 100

static char output[4096]; /* "" = stderr */
static int err_fd = -1;   /* the private duplicate of stderr */
static struct {
  dev_t dev;
  ino_t ino;
  int ok; /* stderr was open at install */
} err_id;
_Atomic int fs_output_reporting;

static int is_stderr_file(int fd)
{
  struct stat st;
  return err_id.ok && fd >= 0 && fstat(fd, &st) == 0 &&
         st.st_dev == err_id.dev && st.st_ino == err_id.ino;
}

/* Takes (or keeps) the private duplicate of what descriptor 2 is now. */
static void keep_stderr(void)
{
  struct stat st;
  if (err_fd >= 0 && is_stderr_file(err_fd) && is_stderr_file(2)) return;
  if (err_fd >= 0 && is_stderr_file(err_fd)) close(err_fd);
  err_fd = -1;
  err_id.ok = 0;
  if (fstat(2, &st) != 0) return; /* no stderr: reports go nowhere */
  err_id.dev = st.st_dev;
  err_id.ino = st.st_ino;
  err_id.ok = 1;
  err_fd = fcntl(2, F_DUPFD_CLOEXEC, FS_OUTPUT_FD_MIN);
  if (err_fd < 0) err_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
}

void fs_output_set(const char *out)
{
  keep_stderr();
  output[0] = '\0';
  if (!out || !*out || strlen(out) >= sizeof output) return;
  if (out[0] == '/') {
    strcpy(output, out);
    return;
  }
  /* Opened at crash time, so it must not depend on the cwd then. */
  if (!getcwd(output, sizeof output - 1)) {
    strcpy(output, out); /* relative, then: the best there is */
    return;
  }
  size_t l = strlen(output);
  if (l + 1 + strlen(out) < sizeof output) {
    output[l] = '/';
    strcpy(output + l + 1, out);
  } else {
    output[0] = '\0';
  }
}

int fs_output_stderr(void)
{
  if (is_stderr_file(err_fd)) return err_fd;
  if (is_stderr_file(2)) return STDERR_FILENO;
  struct stat st;
  if (fstat(2, &st) == 0 && !S_ISREG(st.st_mode)) return STDERR_FILENO;
  return -1;
}

int fs_output_open(void)
{
  if (output[0]) {
    int fd =
        open(output,
             O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
             0644);
    if (fd >= 0) return fd;
  }
  return fs_output_stderr();
}

int fs_output_busy(void)
{
  int pid = atomic_load(&fs_output_reporting);
  return pid && pid == getpid();
}

void fs_output_close(int fd)
{
  if (fd >= 0 && fd != STDERR_FILENO && fd != err_fd) close(fd);
}
