/* supervisor.c — handing a crash report (or a thread dump) to the
 * supervisor of `faststack run`, which symbolizes it in its own process
 * and prints it.
 *
 * `faststack run` stays the program's parent and listens on an AF_UNIX
 * stream socket whose name it puts in FASTSTACK_REPORT_SOCKET ("@name":
 * the abstract namespace). The name is read at install; at report time
 * the handler connects (a new connection per report: a forked child
 * inherits the variable and the preload and connects on its own, so
 * reports never interleave), writes the raw report with bounded writes,
 * shuts its side down and waits for the supervisor's one-byte receipt,
 * sent once the whole report has been read. No receipt (the supervisor
 * is gone, stopped, or the connection broke) means the report was not
 * delivered: the handler then prints it itself.
 *
 * Everything on the report path is a system call: socket, connect,
 * getsockopt, send (fs_write_bounded), shutdown, poll, read, close. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sinks/sinks.h"

static struct sockaddr_un sup_addr;
static socklen_t sup_len; /* 0: no supervisor */

void fs_supervisor_setup(void)
{
  const char *n = getenv("FASTSTACK_REPORT_SOCKET");
  size_t len = n ? strlen(n) : 0;
  sup_len = 0;
  if (len < 2 || len >= sizeof sup_addr.sun_path) return;
  memset(&sup_addr, 0, sizeof sup_addr);
  sup_addr.sun_family = AF_UNIX;
  memcpy(sup_addr.sun_path, n, len);
  /* "@name": the abstract namespace (no file to clean up, gone with the
   * supervisor). Its length counts, not a terminating NUL. */
  if (n[0] == '@') {
    sup_addr.sun_path[0] = '\0';
    sup_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
  } else {
    sup_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
  }
}

int fs_supervisor_present(void)
{
  return sup_len != 0;
}

/* [AS-safe] Is the listening peer run by our user (or root)? Another
 * user's process that took the name must not read our reports. */
static int peer_ok(int fd)
{
  struct ucred cr;
  socklen_t l = sizeof cr;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) != 0) return 0;
  return cr.uid == 0 || cr.uid == getuid() || cr.uid == geteuid();
}

int fs_supervisor_connect(void)
{
  if (!sup_len) return -1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  /* A full backlog (many processes reporting at once) answers EAGAIN:
   * try again for as long as a write may stall. */
  int64_t until = fs_now_ns(CLOCK_MONOTONIC) + FS_OUTPUT_STALL_MS * 1000000LL;
  for (;;) {
    if (connect(fd, (const struct sockaddr *)&sup_addr, sup_len) == 0) {
      if (peer_ok(fd)) return fd;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN || fs_now_ns(CLOCK_MONOTONIC) >= until) break;
    fs_sleep_ms(2);
  }
  close(fd);
  return -1;
}

int fs_supervisor_finish(int fd, int sent)
{
  int ok = 0;
  if (sent && shutdown(fd, SHUT_WR) == 0) {
    int64_t until = fs_now_ns(CLOCK_MONOTONIC) + FS_OUTPUT_STALL_MS * 1000000LL;
    for (;;) {
      int64_t left = (until - fs_now_ns(CLOCK_MONOTONIC)) / 1000000;
      struct pollfd p = {fd, POLLIN, 0};
      if (left <= 0) break;
      int r = poll(&p, 1, (int)left);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      char c = 0;
      ssize_t n = read(fd, &c, 1);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      ok = n == 1 && c == FS_SUPERVISOR_RECEIPT;
      break;
    }
  }
  close(fd);
  return ok;
}
