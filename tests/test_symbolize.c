/* test_symbolize.c — the symbolizer on the objects of a real process:
 * the vDSO (read from memory; names checked against nm on a dump of it),
 * glibc through its build-id debug file (checked against llvm-symbolizer),
 * a dlopen'ed library, a library replaced on disk after loading (must stay
 * unknown, never wrong), and corrupt or truncated files (no crash, unknown
 * frames). */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"

static char tmpdir[] = "/tmp/fs_symtest.XXXXXX";

static int run(const char *cmd, char *out, size_t cap)
{
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  return pclose(p);
}

static int first_name(faststack_symbolizer *s, uintptr_t pc, unsigned flags,
                      char *name, size_t cap)
{
  faststack_frame f[16];
  char b[4096];
  int k = faststack_symbolize(s, pc, flags, f, 16, b, sizeof b);
  if (k < 1 || !f[k - 1].function) return 0;
  snprintf(name, cap, "%s", f[k - 1].function);
  return 1;
}

/* Exit status of a part that cannot run here: ctest reports it as
 * skipped (SKIP_RETURN_CODE 77), never as passed. */
#define SKIPPED 77

/* Every function symbol of the vDSO resolves to its own name. Returns
 * SKIPPED when the process has no vDSO. */
static int test_vdso(void)
{
  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  if (!base) {
    fprintf(stderr, "test_symbolize_vdso: skipped: no vDSO\n");
    return SKIPPED;
  }
  faststack_module m;
  CHECK(faststack_module_find(base, &m));
  /* Dump the image (one page or two) for nm, an independent reader. */
  char path[256], cmd[512], out[8192];
  snprintf(path, sizeof path, "%s/vdso.so", tmpdir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return 0;
  fwrite((const void *)base, 1, 8192, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "nm -D --defined-only %s 2>/dev/null", path);
  CHECK_EQ(run(cmd, out, sizeof out), 0);
  int checked = 0;
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    unsigned long v;
    char type, sym[128];
    if (sscanf(line, "%lx %c %127s", &v, &type, sym) != 3) continue;
    if (type != 'T' && type != 't' && type != 'W') continue;
    char *at = strchr(sym, '@');
    if (at) *at = '\0';
    char got[128] = "";
    CHECK(first_name(faststack_default_symbolizer(), m.bias + v,
                     FASTSTACK_PC_EXACT, got, sizeof got));
    /* Aliases share an address; the symbolizer names one of them. */
    snprintf(cmd, sizeof cmd,
             "nm -D --defined-only %s | grep -q '^%016lx . %s\\(@.*\\)\\?$'",
             path, v, got);
    CHECK_EQ(system(cmd), 0);
    checked++;
  }
  CHECK(checked >= 4);
  fprintf(stderr, "vdso: %d symbols\n", checked);
  return 0;
}

/* glibc's functions through /usr/lib/debug/.build-id (libc6-dbg).
 * Returns SKIPPED when libc6-dbg is not installed. */
static int test_libc(void)
{
  /* glibc's own functions, looked up in libc itself: in the sanitizer
   * build RTLD_DEFAULT finds the runtime's interceptors first. */
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  CHECK(libc != NULL);
  if (!libc) return 0;
  faststack_module m;
  void *fn = dlsym(libc, "qsort");
  CHECK(fn && faststack_module_find((uintptr_t)fn, &m));
  char dbg[512];
  snprintf(dbg, sizeof dbg, "/usr/lib/debug/.build-id/%.2s/%s.debug",
           m.build_id, m.build_id + 2);
  if (access(dbg, R_OK) != 0) {
    fprintf(stderr,
            "test_symbolize_libc: skipped: libc6-dbg not installed (%s)\n",
            dbg);
    return SKIPPED;
  }
#if !FS_HAVE_ZLIB || !FS_HAVE_ZSTD
  /* Debian compresses its debug files' sections. */
  fprintf(stderr, "libc6-dbg: built without zlib or zstd: skipped\n");
  return SKIPPED;
#endif
  const char *names[] = {"qsort", "strlen", "malloc", "printf", "abort"};
  /* Twice: the second pass answers from the symbolizer's PC cache. */
  for (int i = 0; i < 10; i++) {
    uintptr_t pc = (uintptr_t)dlsym(libc, names[i % 5]) + 4;
    faststack_frame f[16];
    char b[4096], cmd[1024], want[4096], got[4096] = "";
    int k = faststack_symbolize(faststack_default_symbolizer(), pc,
                                FASTSTACK_PC_EXACT, f, 16, b, sizeof b);
    size_t n = 0;
    for (int j = 0; j < k; j++)
      n += (size_t)snprintf(got + n, sizeof got - n, "%s\n%s:%d:%d\n\n",
                            f[j].function ? f[j].function : "??",
                            f[j].file ? f[j].file : "??", f[j].line,
                            f[j].column);
    snprintf(cmd, sizeof cmd, "llvm-symbolizer --obj=%s 0x%lx 2>/dev/null",
             m.path, (unsigned long)(pc - m.bias));
    CHECK_EQ(run(cmd, want, sizeof want), 0);
    CHECK_STREQ(got, want);
    CHECK(k >= 1 && f[k - 1].source == FASTSTACK_SRC_DWARF);
  }
  dlclose(libc);
  return 0;
}

static int copy_file(const char *from, const char *to)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
  return system(cmd);
}

/* Copies libmodtest to lib, loads it and checks s names its function;
 * the handle (NULL on failure) and the function's address. */
static void *load_modtest(const char *lib, faststack_symbolizer *s,
                          uintptr_t *fn)
{
  CHECK_EQ(copy_file(MODTEST_LIB, lib), 0);
  void *h = dlopen(lib, RTLD_NOW);
  CHECK(h != NULL);
  if (!h) return NULL;
  *fn = (uintptr_t)dlsym(h, "modtest_function");
  char name[128] = "";
  CHECK(first_name(s, *fn, FASTSTACK_PC_EXACT, name, sizeof name));
  CHECK_STREQ(name, "modtest_function");
  return h;
}

/* A library renamed over after loading: the file on disk is another
 * object (other build-id), so its PCs stay unknown. */
static void test_replaced(void)
{
  char lib[256], tmp[256], name[128];
  snprintf(lib, sizeof lib, "%s/libmodtest.so", tmpdir);
  snprintf(tmp, sizeof tmp, "%s/other", tmpdir);
  uintptr_t fn = 0;
  faststack_symbolizer *s = faststack_symbolizer_create(NULL);
  void *h = load_modtest(lib, s, &fn);
  faststack_symbolizer_free(s);
  if (!h) return;
  /* Replace it with an unrelated ELF file (this test's executable). */
  CHECK_EQ(copy_file("/proc/self/exe", tmp), 0);
  CHECK_EQ(rename(tmp, lib), 0);
  s = faststack_symbolizer_create(NULL);
  CHECK(!first_name(s, fn, FASTSTACK_PC_EXACT, name, sizeof name));
  CHECK(strstr(faststack_symbolizer_last_error(s), "differs") != NULL);
  faststack_symbolizer_free(s);
  dlclose(h);
}

/* One symbolizer across dlclose and a dlopen of another library from the
 * same path (usually mapped at the same address), with no module
 * refresh in between: the new library's function is named, never the
 * old one's. */
static void test_reloaded(void)
{
  char lib[256], name[128] = "";
  snprintf(lib, sizeof lib, "%s/libreload.so", tmpdir);
  uintptr_t fn = 0;
  faststack_symbolizer *s = faststack_symbolizer_create(NULL);
  void *h = load_modtest(lib, s, &fn);
  if (!h) {
    faststack_symbolizer_free(s);
    return;
  }
  dlclose(h);
  CHECK_EQ(unlink(lib), 0);
  CHECK_EQ(copy_file(MODTEST2_LIB, lib), 0);
  h = dlopen(lib, RTLD_NOW);
  CHECK(h != NULL);
  if (!h) {
    faststack_symbolizer_free(s);
    return;
  }
  uintptr_t other = (uintptr_t)dlsym(h, "other_function");
  name[0] = '\0';
  int found = first_name(s, other, FASTSTACK_PC_EXACT, name, sizeof name);
  CHECK(!found || !strcmp(name, "other_function"));
  CHECK(strcmp(name, "modtest_function") != 0);
  /* After a refresh it must be named. */
  faststack_modules_refresh();
  CHECK(first_name(s, other, FASTSTACK_PC_EXACT, name, sizeof name));
  CHECK_STREQ(name, "other_function");
  fprintf(stderr,
          "reload: the second library at the first one's "
          "address: %s\n",
          (void *)(other & ~(uintptr_t)0xfffff) ==
                  (void *)(fn & ~(uintptr_t)0xfffff)
              ? "yes"
              : "no");
  faststack_symbolizer_free(s);
  dlclose(h);
}

/* Offline: this executable, truncated at many points and with bytes
 * flipped; every lookup returns (unknown or not), none crashes. */
static void test_corrupt(void)
{
  char path[256];
  snprintf(path, sizeof path, "%s/corrupt", tmpdir);
  int in = open("/proc/self/exe", O_RDONLY);
  struct stat st;
  CHECK(in >= 0 && fstat(in, &st) == 0);
  size_t size = (size_t)st.st_size;
  unsigned char *img = malloc(size);
  CHECK(img && read(in, img, size) == (ssize_t)size);
  close(in);
  srand(42);
  int opened = 0;
  for (int round = 0; round < 60; round++) {
    size_t n = round < 30 ? size * (size_t)round / 30 : size;
    unsigned char *c = malloc(size);
    memcpy(c, img, size);
    if (round >= 30)
      for (int k = 0; k < 64; k++)
        c[(size_t)rand() % size] ^= (unsigned char)rand();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, c, n) == (ssize_t)n);
    close(fd);
    free(c);
    const char *err = NULL;
    faststack_symbolizer *s = faststack_symbolizer_open(path, NULL, &err);
    if (!s) {
      CHECK(err != NULL && err[0]);
      continue;
    }
    opened++;
    for (uintptr_t a = 0x1000; a < 0x8000; a += 0x33) {
      faststack_frame f[16];
      char b[2048];
      CHECK(faststack_symbolize(s, a, FASTSTACK_PC_EXACT, f, 16, b, sizeof b) >=
            1);
    }
    faststack_symbolizer_free(s);
  }
  fprintf(stderr, "corrupt: %d of 60 variants opened\n", opened);
  CHECK(opened >= 20);
  free(img);
  /* Not ELF, a directory, missing. */
  const char *err = NULL;
  CHECK(faststack_symbolizer_open("/etc/hostname", NULL, &err) == NULL && err);
  CHECK(faststack_symbolizer_open("/", NULL, &err) == NULL && err);
  CHECK(faststack_symbolizer_open("/nonexistent", NULL, &err) == NULL && err);
}

/* Threads hammering the PC cache: more distinct PCs than cache slots
 * (every 4th byte of this executable's code), so slots are overwritten
 * while others read them. Every answer must equal the one a fresh
 * symbolizer gives in a single thread. */
#define STRESS_MAX 60000
static uintptr_t stress_pc[STRESS_MAX];
static char *stress_want[STRESS_MAX];
static int nstress;
static faststack_symbolizer *stress_sym;

static char *describe(faststack_symbolizer *s, uintptr_t pc)
{
  faststack_frame f[16];
  char b[4096], out[8192];
  int k = faststack_symbolize(s, pc, FASTSTACK_PC_EXACT, f, 16, b, sizeof b);
  size_t n = 0;
  for (int j = 0; j < k && n < sizeof out; j++)
    n += (size_t)snprintf(out + n, sizeof out - n, "%s|%s|%d|%d|%d|%lx;",
                          f[j].function ? f[j].function : "?",
                          f[j].file ? f[j].file : "?", f[j].line, f[j].column,
                          f[j].inlined, (unsigned long)f[j].function_offset);
  return strdup(out);
}

static void *stress_worker(void *arg)
{
  long id = (long)arg, bad = 0;
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < nstress; i++) {
      int k = (int)((i * 7919L + id * 104729L) % nstress);
      char *got = describe(stress_sym, stress_pc[k]);
      bad += strcmp(got, stress_want[k]) != 0;
      free(got);
    }
  return (void *)bad;
}

static void test_stress(void)
{
  faststack_module m;
  CHECK(faststack_module_find((uintptr_t)test_stress, &m));
  faststack_symbolizer *ref = faststack_symbolizer_create(NULL);
  uintptr_t lo = (uintptr_t)test_stress & ~(uintptr_t)0xfff;
  for (uintptr_t pc = lo; pc < m.end && nstress < STRESS_MAX; pc += 4) {
    faststack_module mm;
    if (!faststack_module_find(pc, &mm) || mm.start != m.start) break;
    stress_pc[nstress] = pc;
    stress_want[nstress++] = describe(ref, pc);
  }
  faststack_symbolizer_free(ref);
  CHECK(nstress > 20000); /* more than the cache's 16,384 slots */
  stress_sym = faststack_symbolizer_create(NULL);
  pthread_t t[4];
  for (long i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, stress_worker, (void *)i);
  for (int i = 0; i < 4; i++) {
    void *r;
    pthread_join(t[i], &r);
    CHECK_EQ((long)r, 0);
  }
  faststack_symbolizer_free(stress_sym);
  for (int i = 0; i < nstress; i++) free(stress_want[i]);
  fprintf(stderr, "stress: %d PCs x 4 threads x 2 rounds\n", nstress);
}

/* A global the data lookup must name, by its address in this process. */
int fs_test_data_var[8] = {1, 2, 3};
static char fs_test_data_static[32];

static void test_data(void)
{
  faststack_symbolizer *s = faststack_default_symbolizer();
  faststack_data_symbol d;
  char buf[256];
  uintptr_t a = (uintptr_t)&fs_test_data_var[3] + 1;
  CHECK_EQ(faststack_symbolize_data(s, a, &d, buf, sizeof buf), 1);
  CHECK(d.name && !strcmp(d.name, "fs_test_data_var"));
  CHECK_EQ(d.start, (uintptr_t)fs_test_data_var);
  CHECK_EQ(d.size, sizeof fs_test_data_var);
  CHECK_EQ(d.offset, 13);
  CHECK_EQ(d.tls, 0);
  CHECK(d.module != NULL);
  fs_test_data_static[0] = 1;
  CHECK_EQ(faststack_symbolize_data(s, (uintptr_t)&fs_test_data_static[31], &d,
                                    buf, sizeof buf),
           1);
  CHECK(d.name && !strcmp(d.name, "fs_test_data_static"));
  CHECK_EQ(d.offset, 31);
  /* No room for the name: found, name NULL. */
  CHECK_EQ(faststack_symbolize_data(s, a, &d, buf, 4), 1);
  CHECK(d.name == NULL);
  /* A stack address is in no module. */
  int local = 0;
  CHECK_EQ(faststack_symbolize_data(s, (uintptr_t)&local, &d, buf, sizeof buf),
           0);
  CHECK(d.name == NULL);
  CHECK_EQ(faststack_symbolize_data(NULL, a, &d, buf, sizeof buf), -1);
}

/* The symbolizer's decompression budget: this test's own executable
 * with zstd-compressed debug sections answers from DWARF within the
 * default budget, and from the symbol table only (with a message) when
 * the symbolizer may decompress 4 KiB in all. */
static void test_budget(void)
{
  char cmd[1024], out[256], path[256];
  snprintf(path, sizeof path, "%s/zstd", tmpdir);
  /* The target's objcopy in a cross build: the host's may not write a
   * foreign ELF back unchanged. */
  const char *objcopy = getenv("FASTSTACK_TEST_OBJCOPY");
  /* Our own path, read here: another process's view of /proc/PID/exe is
   * the emulator under qemu-user. */
  char exe[256];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  CHECK(n > 0);
  exe[n > 0 ? n : 0] = '\0';
  snprintf(cmd, sizeof cmd, "%s --compress-debug-sections=zstd %s %s 2>&1",
           objcopy && *objcopy ? objcopy : "objcopy", exe, path);
  CHECK_EQ(run(cmd, out, sizeof out), 0);
  uintptr_t fn = (uintptr_t)(void *)test_budget;
  faststack_module m;
  CHECK(faststack_module_find(fn, &m));
  faststack_symbolizer_config c;
  memset(&c, 0, sizeof c);
  for (int small = 0; small < 2; small++) {
    c.max_decompressed = small ? 4096 : 0;
    const char *err = NULL;
    faststack_symbolizer *s = faststack_symbolizer_open_config(path, &c, &err);
    CHECK(s != NULL);
    if (!s) return;
    faststack_frame f[8];
    char b[1024];
    int k = faststack_symbolize(s, fn - m.bias, FASTSTACK_PC_EXACT, f, 8, b,
                                sizeof b);
    CHECK(k >= 1 && f[k - 1].function &&
          !strcmp(f[k - 1].function, "test_budget"));
    CHECK_EQ(f[k - 1].source,
             small ? FASTSTACK_SRC_SYMTAB : FASTSTACK_SRC_DWARF);
    if (small)
      CHECK(strstr(faststack_symbolizer_last_error(s), "budget") != NULL);
    faststack_symbolizer_free(s);
  }
}

/* One part per test name (tests/symbolize.cmake): "vdso" and "libc"
 * need what a machine may lack and skip on their own; no argument runs
 * the rest. */
/* A local alias ahead of a function in the symbol table, as glibc's
 * debug files list __GI_strlen ahead of the __strlen_generic its DWARF
 * names: the function's own name is printed, not the alias. */
__asm__(".set fs_test_local_alias, local_alias_target");
__attribute__((noinline, used)) static int local_alias_target(int x)
{
  return x * 5 + 3;
}

static void test_local_alias(void)
{
  faststack_frame f[4];
  char b[512];
  int k = faststack_symbolize(faststack_default_symbolizer(),
                              (uintptr_t)local_alias_target, FASTSTACK_PC_EXACT,
                              f, 4, b, sizeof b);
  CHECK_EQ(k, 1);
  CHECK_STREQ(f[0].function, "local_alias_target");
  CHECK_EQ(f[0].source, FASTSTACK_SRC_DWARF);
  CHECK_EQ(local_alias_target(1), 8);
}

/* A string buffer too small for every name: each name that does not fit
 * (with its NUL) is NULL, the others are whole, in the order the frames
 * list them — the same from a PC-cache hit as from the first lookup. A
 * function of this file, at its first instruction: one frame. */
__attribute__((noinline)) static int small_buffer_target(int x)
{
  return x * 3 + 1;
}

static void small_buffer_case(faststack_symbolizer *s, uintptr_t pc,
                              const faststack_frame *full, size_t cap)
{
  faststack_frame f[4];
  char b[512];
  /* Two lookups: the first may decode, the second is a cache hit. */
  for (int round = 0; round < 2; round++) {
    int k = faststack_symbolize(s, pc, FASTSTACK_PC_EXACT, f, 4, cap ? b : NULL,
                                cap);
    CHECK_EQ(k, 1);
    size_t fn = strlen(full->function) + 1, file = strlen(full->file) + 1;
    int fn_fits = fn <= cap, file_fits = file <= cap - (fn_fits ? fn : 0);
    CHECK_EQ(f[0].function != NULL, fn_fits);
    CHECK_EQ(f[0].file != NULL, file_fits);
    if (f[0].function) CHECK_STREQ(f[0].function, full->function);
    if (f[0].file) CHECK_STREQ(f[0].file, full->file);
    CHECK_EQ(f[0].line, full->line);
  }
}

static void test_small_buffer(void)
{
  faststack_symbolizer *s = faststack_symbolizer_create(NULL);
  CHECK(s != NULL);
  if (!s) return;
  uintptr_t pc = (uintptr_t)small_buffer_target;
  faststack_frame full;
  char b[512];
  CHECK_EQ(
      faststack_symbolize(s, pc, FASTSTACK_PC_EXACT, &full, 1, b, sizeof b), 1);
  CHECK_STREQ(full.function, "small_buffer_target");
  CHECK(full.file && strstr(full.file, "test_symbolize.c"));
  if (!full.function || !full.file) return;
  size_t fn = strlen(full.function) + 1, file = strlen(full.file) + 1;
  const size_t caps[] = {
      0,        1,    fn - 1,        fn,        fn + 1,
      file - 1, file, fn + file - 1, fn + file, fn + file + 1};
  for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
    /* A fresh symbolizer per size: its first answer is the decoding path. */
    faststack_symbolizer *t = faststack_symbolizer_create(NULL);
    small_buffer_case(t, pc, &full, caps[i]);
    small_buffer_case(s, pc, &full, caps[i]);
    faststack_symbolizer_free(t);
  }
  faststack_symbolizer_free(s);
}

int main(int argc, char **argv)
{
  const char *part = argc > 1 ? argv[1] : "";
  CHECK(mkdtemp(tmpdir) != NULL);
  int skipped = 0;
  if (!strcmp(part, "vdso")) {
    skipped = test_vdso() == SKIPPED;
  } else if (!strcmp(part, "libc")) {
    skipped = test_libc() == SKIPPED;
  } else {
    test_replaced();
    test_reloaded();
    test_corrupt();
    test_data();
    test_budget();
    test_stress();
    test_small_buffer();
    test_local_alias();
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  CHECK_EQ(system(cmd), 0);
  if (skipped && !check_failures) return SKIPPED;
  return CHECK_DONE("test_symbolize");
}
