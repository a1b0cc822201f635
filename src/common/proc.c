/* proc.c — small system helpers for the signal-safe paths: thread ids,
 * sleeping, clocks, thread names from /proc, and the time of day as ISO
 * 8601. Only system calls on POSIX's async-signal-safe list (or raw
 * syscalls) are used: no stdio, no locale, no time zone. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

int fs_gettid(void)
{
  return (int)syscall(SYS_gettid);
}

void fs_sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
    ;
}

int64_t fs_now_ns(int clock)
{
  struct timespec ts;
  if (clock_gettime((clockid_t)clock, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void fs_task_path(char *buf, int tid, const char *leaf)
{
  static const char pre[] = "/proc/self/task/";
  memcpy(buf, pre, sizeof pre - 1);
  size_t p = sizeof pre - 1;
  p += (size_t)fs_fmt_dec(buf + p, tid);
  buf[p++] = '/';
  size_t n = strlen(leaf);
  if (n > 24) n = 24;
  memcpy(buf + p, leaf, n);
  buf[p + n] = '\0';
}

void fs_thread_name(int tid, char *buf, size_t cap)
{
  char path[64];
  fs_task_path(path, tid, "comm");
  buf[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n <= 0) {
    buf[0] = '\0';
    return;
  }
  buf[n] = '\0';
  /* comm ends in a newline; names may hold anything else. */
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n') buf[i] = '\0';
    else if ((unsigned char)buf[i] < 0x20 || buf[i] == '"') buf[i] = '?';
}

void fs_out_thread(fs_out *o, int tid)
{
  char name[32];
  fs_thread_name(tid, name, sizeof name);
  fs_out_str(o, "thread ");
  fs_out_dec(o, tid);
  if (name[0]) {
    fs_out_str(o, " \"");
    fs_out_str(o, name);
    fs_out_char(o, '"');
  }
}

static void out_2(fs_out *o, unsigned v)
{
  fs_out_char(o, (char)('0' + v / 10 % 10));
  fs_out_char(o, (char)('0' + v % 10));
}

/* gmtime_r is not async-signal-safe (it may take the time zone lock), so
 * the civil date is computed from the day count: shift the epoch to
 * 0000-03-01 so leap days end each 4/100/400-year cycle, then split the
 * day-of-era into year, day-of-year, month. */
void fs_out_time(fs_out *o)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return;
  int64_t secs = ts.tv_sec;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097; /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100); /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                      /* [0, 11] */
  unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  if (m <= 2) y++;
  fs_out_dec(o, y);
  fs_out_char(o, '-');
  out_2(o, m);
  fs_out_char(o, '-');
  out_2(o, d);
  fs_out_char(o, 'T');
  out_2(o, (unsigned)(rem / 3600));
  fs_out_char(o, ':');
  out_2(o, (unsigned)(rem / 60 % 60));
  fs_out_char(o, ':');
  out_2(o, (unsigned)(rem % 60));
  fs_out_char(o, '.');
  unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
  fs_out_char(o, (char)('0' + ms / 100));
  out_2(o, ms % 100);
  fs_out_char(o, 'Z');
}

void fs_retire(void *old, _Atomic int *readers)
{
  if (!old) return;
  for (int i = 0; i < 100000; i++) {
    if (atomic_load(readers) == 0) {
      free(old);
      return;
    }
    sched_yield();
  }
}
