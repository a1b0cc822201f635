/* bench_modules — the cost of finding the object that holds a PC, by
 * glibc's _dl_find_object and by the dl_iterate_phdr snapshot that
 * replaces it on musl and glibc before 2.35: fs_object_find (what the
 * walk's code checks and CFI lookups call), faststack_module_find (with
 * the build-id), over PCs in the executable, libc and the vDSO in turn.
 * The lookup is chosen at load time, so the program runs itself again
 * with FASTSTACK_MODULE_LOOKUP=snapshot for the second row. A smoke run
 * only here; the lead measures on a quiet machine. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "faststack.h"
#include "modules/modules.h"

static double now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The fastest of 5 rounds of n lookups, in ns per lookup. */
static double time_find(const uintptr_t *pcs, int npcs, int n, int module)
{
  double best = 1e30;
  volatile uintptr_t sink = 0;
  for (int round = 0; round < 5; round++) {
    double t0 = now_ns();
    for (int i = 0; i < n; i++) {
      uintptr_t pc = pcs[i % npcs];
      if (module) {
        faststack_module m;
        if (faststack_module_find(pc, &m)) sink += m.start;
      } else {
        fs_object o;
        if (fs_object_find(pc, &o)) sink += o.start;
      }
    }
    double dt = (now_ns() - t0) / n;
    if (dt < best) best = dt;
  }
  (void)sink;
  return best;
}

int main(int argc, char **argv)
{
  uintptr_t pcs[3];
  int npcs = 0;
  pcs[npcs++] = (uintptr_t)main;
  pcs[npcs++] = (uintptr_t)dlsym(RTLD_DEFAULT, "printf");
  uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  if (vdso) pcs[npcs++] = vdso + 0x100;
  int n = argc > 2 ? atoi(argv[2]) : 1000000;
  if (argc < 2) {
    printf("%-16s %-22s %12s %12s\n", "lookup", "objects", "object ns",
           "module ns");
  }
  printf("%-16s %-22s %12.1f %12.1f\n",
         fs_objects_snapshot_mode() ? "snapshot" : "_dl_find_object",
         vdso ? "exe, libc, vDSO" : "exe, libc", time_find(pcs, npcs, n, 0),
         time_find(pcs, npcs, n, 1));
  fflush(stdout);
  if (argc < 2 && !fs_objects_snapshot_mode()) {
    setenv("FASTSTACK_MODULE_LOOKUP", "snapshot", 1);
    char count[32];
    snprintf(count, sizeof count, "%d", n);
    execl("/proc/self/exe", argv[0], "again", count, (char *)NULL);
    perror("bench_modules: exec");
    return 1;
  }
  return 0;
}
