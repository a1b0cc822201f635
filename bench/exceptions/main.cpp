// bench_exceptions — what recording the throw site costs a C++ throw.
//
// Each op throws a std::runtime_error `depth` frames below the try block
// and catches it (unwinding through every frame). The same binary runs the
// ops with recording on, then re-runs itself with FASTSTACK_EXCEPTIONS=0
// for the plain cost. Ops are timed in batches; the table shows the median
// of the batches' ns/op. Memory: the record a live exception holds.
//
// cpptrace's approach (a trace taken in its catch-side filter) is not
// measured: cpptrace is not packaged in Debian 12, and the project does not
// vendor other projects' code.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <time.h>
#include <unistd.h>
#include <vector>

#include "faststack.h"

extern "C" size_t fs_exc_record_bytes(int n);

static const int depths[] = {1, 10, 100};
static volatile int sink;

__attribute__((noinline)) static int dive(int d)
{
  if (d <= 1) throw std::runtime_error("bench");
  int r = dive(d - 1);
  sink = r;
  return r + 1;
}

static double now_ns(void)
{
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// Median ns per throw+catch through `depth` frames.
static double measure(int depth, int *npcs)
{
  const int batches = 15, per = depth >= 100 ? 200 : 2000;
  std::vector<double> r;
  for (int b = 0; b < batches; b++) {
    double t0 = now_ns();
    for (int i = 0; i < per; i++) {
      try {
        dive(depth);
      } catch (const std::exception &) {
        if (i == 0 && npcs) {
          uintptr_t pcs[FASTSTACK_EXCEPTION_MAX_PCS];
          *npcs = faststack_exception_pcs(pcs, FASTSTACK_EXCEPTION_MAX_PCS);
        }
      }
    }
    r.push_back((now_ns() - t0) / per);
  }
  std::sort(r.begin(), r.end());
  return r[r.size() / 2];
}

// The child: one line per depth, "depth ns".
static int child(void)
{
  measure(10, nullptr); // warm: first throw, rule cache, stack bounds
  for (int d : depths) std::printf("%d %.1f\n", d, measure(d, nullptr));
  return 0;
}

static int run_off(double *out)
{
  std::string cmd = "FASTSTACK_EXCEPTIONS=0 /proc/" + std::to_string(getpid()) +
                    "/exe --child";
  FILE *p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  int d;
  double ns;
  int k = 0;
  while (k < 3 && std::fscanf(p, "%d %lf", &d, &ns) == 2) out[k++] = ns;
  return pclose(p) == 0 && k == 3 ? 0 : -1;
}

int main(int argc, char **argv)
{
  if (argc > 1 && !std::strcmp(argv[1], "--child")) return child();
  double off[3];
  if (run_off(off) != 0) {
    std::fprintf(stderr, "bench_exceptions: the FASTSTACK_EXCEPTIONS=0 run "
                         "failed\n");
    return 1;
  }
  measure(10, nullptr);
  std::printf("throw+catch of std::runtime_error, ns/op (median of 15 "
              "batches)\n");
  std::printf("%-7s %12s %12s %7s %6s %14s\n", "depth", "recording", "plain",
              "ratio", "pcs", "record bytes");
  for (int i = 0; i < 3; i++) {
    int n = 0;
    double on = measure(depths[i], &n);
    std::printf("%-7d %12.1f %12.1f %6.2fx %6d %14zu\n", depths[i], on, off[i],
                on / off[i], n, fs_exc_record_bytes(n));
  }
  std::printf("record bytes: one malloc per live exception (plus the "
              "allocator's header), freed with the exception; at most %zu "
              "(%d PCs)\n",
              fs_exc_record_bytes(FASTSTACK_EXCEPTION_MAX_PCS),
              FASTSTACK_EXCEPTION_MAX_PCS);
  std::printf("cpptrace: not packaged in Debian 12; column skipped\n");
  return 0;
}
