/* crash.c — an ordinary program with a bug: it parses a list of
 * "key=value" lines and dereferences NULL on a line without '='. It knows
 * nothing about faststack; `make demo` runs it with
 *
 *   faststack run -- examples/crash_example
 *
 * and the crash report says where it died and how it got there (the
 * handler hands the raw frames to `faststack run`, which names them),
 * then it dies of its SIGSEGV as it would have. */
#include <stdio.h>
#include <string.h>

struct entry {
  const char *key;
  const char *value;
};

/* Each function a frame of its own in the traceback: no inlining, and
 * (gcc) no specialised clones either. */
#if defined(__GNUC__) && !defined(__clang__)
#define FRAME_OF_ITS_OWN __attribute__((noipa))
#else
#define FRAME_OF_ITS_OWN __attribute__((noinline))
#endif

FRAME_OF_ITS_OWN int is_comment(char c)
{
  return c == '#';
}

FRAME_OF_ITS_OWN size_t value_length(const struct entry *e)
{
  size_t n = 0;
  while (e->value[n] && !is_comment(e->value[n])) n++;
  return n;
}

FRAME_OF_ITS_OWN struct entry parse_line(char *line)
{
  struct entry e = {line, NULL};
  char *eq = strchr(line, '=');
  if (eq) {
    *eq = '\0';
    e.value = eq + 1;
  }
  return e;
}

FRAME_OF_ITS_OWN size_t parse_config(char **lines, int n)
{
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    struct entry e = parse_line(lines[i]);
    /* The bug: a line without '=' has no value. */
    total += value_length(&e);
    __asm__ volatile("" ::: "memory");
  }
  return total;
}

int main(void)
{
  char l1[] = "name=faststack", l2[] = "mode=demo", l3[] = "oops";
  char *lines[] = {l1, l2, l3};
  printf("parsing 3 lines...\n");
  fflush(stdout);
  printf("total %zu\n", parse_config(lines, 3));
  return 0;
}
