/* test_modules.c — the module map: the executable, libc, the vDSO and a
 * library dlopen'ed after start (and gone after dlclose); build-ids equal
 * what `readelf -n` prints. MODTEST_LIB is the test library's path. */

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/seccomp.h>) && __has_include(<linux/filter.h>)
#include <linux/filter.h>
#include <linux/seccomp.h>
#define HAVE_SECCOMP 1
#endif
#endif

#include "check.h"
#include "common/common.h"
#include "faststack.h"
#include "modules/modules.h"

int main(void);

/* The build-id readelf reports for path, or "" (readelf is binutils). */
static void readelf_build_id(const char *path, char *out, size_t cap)
{
  char cmd[PATH_MAX + 64], line[512];
  out[0] = '\0';
  snprintf(cmd, sizeof cmd, "readelf -n '%s' 2>/dev/null", path);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  while (fgets(line, sizeof line, p)) {
    char *b = strstr(line, "Build ID: ");
    if (b && sscanf(b + 10, "%255s", out) == 1 && strlen(out) < cap) break;
  }
  pclose(p);
}

static const faststack_module *listed(const faststack_module *m, int n,
                                      const char *path)
{
  for (int i = 0; i < n; i++)
    if (!strcmp(m[i].path, path)) return &m[i];
  return NULL;
}

static void test_executable(void)
{
  faststack_module m;
  char exe[PATH_MAX], id[256];
  CHECK(realpath("/proc/self/exe", exe) != NULL);
  CHECK_EQ(faststack_module_find((uintptr_t)main, &m), 1);
  CHECK_STREQ(m.path, exe);
  CHECK((uintptr_t)main >= m.start && (uintptr_t)main < m.end);
#ifdef RTLD_DL_LINKMAP /* glibc */
  struct link_map *lm = NULL;
  Dl_info info;
  CHECK(dladdr1((void *)main, &info, (void **)&lm, RTLD_DL_LINKMAP));
  CHECK(lm && m.bias == lm->l_addr);
#endif
  readelf_build_id(exe, id, sizeof id);
  CHECK(id[0] != '\0');
  CHECK_STREQ(m.build_id, id);
  CHECK_EQ(m.build_id_size, strlen(id) / 2);
}

static void test_libc(void)
{
  faststack_module m;
  char id[256];
  void *fn = dlsym(RTLD_DEFAULT, "gnu_get_libc_version");
  CHECK(fn != NULL);
  CHECK_EQ(faststack_module_find((uintptr_t)fn, &m), 1);
  const char *base = strrchr(m.path, '/');
  CHECK_STREQ(base, "/libc.so.6");
  readelf_build_id(m.path, id, sizeof id);
  CHECK(id[0] != '\0');
  CHECK_STREQ(m.build_id, id);
}

static void test_vdso(void)
{
  faststack_module m;
  uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  if (!vdso && getenv("FASTSTACK_TEST_EMULATOR")) {
    fprintf(stderr, "test_vdso: no vDSO under qemu-user: not checked\n");
    return;
  }
  CHECK(vdso != 0);
  CHECK_EQ(faststack_module_find(vdso + 0x100, &m), 1);
  CHECK_STREQ(m.path, "linux-vdso.so.1");
  CHECK_EQ(m.start, vdso);
  CHECK(m.build_id_size > 0);
}

static void test_dlopen_dlclose(void)
{
  faststack_module m, all[256];
  char id[256];
  void *h = dlopen(MODTEST_LIB, RTLD_NOW | RTLD_LOCAL);
  CHECK(h != NULL);
  if (!h) return;
  uintptr_t fn = (uintptr_t)dlsym(h, "modtest_function");
  CHECK(fn != 0);
  /* The snapshot knows of an object once a refresh has seen it (the
   * preload refreshes after each dlopen and dlclose). */
  if (fs_objects_snapshot_mode()) {
    CHECK_EQ(faststack_module_find(fn, &m), 0);
    faststack_modules_refresh();
  }
  CHECK_EQ(faststack_module_find(fn, &m), 1);
  CHECK_STREQ(m.path, MODTEST_LIB);
  readelf_build_id(MODTEST_LIB, id, sizeof id);
  CHECK_STREQ(m.build_id, id);
  int n = faststack_modules_list(all, 256);
  CHECK(n > 3 && n <= 256);
  const faststack_module *l = listed(all, n, MODTEST_LIB);
  CHECK(l != NULL);
  if (l) {
    CHECK_STREQ(l->build_id, id);
    CHECK_EQ(l->start, m.start);
    CHECK_EQ(l->bias, m.bias);
  }
  if (getauxval(AT_SYSINFO_EHDR)) /* none under qemu-user */
    CHECK(listed(all, n, "linux-vdso.so.1") != NULL);
  CHECK_EQ(dlclose(h), 0);
  if (fs_objects_snapshot_mode()) faststack_modules_refresh();
  CHECK_EQ(faststack_module_find(fn, &m), 0);
  n = faststack_modules_list(all, 256);
  CHECK(listed(all, n, MODTEST_LIB) == NULL);
  /* Counting only. */
  CHECK_EQ(faststack_modules_list(NULL, 0), n);
}

static void test_bad_arguments(void)
{
  faststack_module m;
  CHECK_EQ(faststack_module_find((uintptr_t)main, NULL), 0);
  CHECK_EQ(faststack_module_find(0, &m), 0);
  CHECK_EQ(faststack_module_find(16, &m), 0);
}

/* Where process_vm_readv is refused (a seccomp profile; qemu-user has
 * none), link maps and headers are still read safely: lookups answer,
 * and an unmapped address is an error, not a fault. In a child: a
 * seccomp filter cannot be taken back. */
static int no_vm_readv_child(const char *exe)
{
#if !HAVE_SECCOMP
  (void)exe;
  return 77; /* no kernel headers here (musl-gcc) */
#else
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & 0xffff)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return 77;
  char dst[16];
  if (syscall(SYS_process_vm_readv, getpid(), NULL, 0UL, NULL, 0UL, 0UL) !=
          -1 ||
      errno != EPERM)
    return 77; /* the filter did not take */
  faststack_module m;
  if (faststack_module_find((uintptr_t)main, &m) != 1) return 1;
  if (strcmp(m.path, exe) != 0) return 2;
  void *gone = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  errno = 1234;
  if (gone == MAP_FAILED || fs_safe_copy(dst, (uintptr_t)gone, 8) != -1)
    return 3;
  if (errno != 1234) return 4;
  static const char want[16] = "fifteen bytes..";
  if (fs_safe_copy(dst, (uintptr_t)want, 16) != 0 || memcmp(dst, want, 16))
    return 5;
  return 0;
#endif
}

static void test_no_vm_readv(void)
{
  char exe[PATH_MAX];
  CHECK(realpath("/proc/self/exe", exe) != NULL);
  pid_t pid = fork();
  if (pid == 0) _exit(no_vm_readv_child(exe));
  int st = 0;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
    fprintf(stderr, "test_modules: no seccomp filter here (or no kernel "
                    "headers): the refused "
                    "process_vm_readv case not run\n");
    return;
  }
  CHECK_EQ(WEXITSTATUS(st), 0);
}

/* fs_safe_equal, which the symbolizer runs on a build-id per lookup:
 * every length up to its bound, a difference at every byte, a range that
 * ends where a PROT_NONE page begins (the tail is read as a word ending
 * at the last byte, never past it), and an unmapped range; with the
 * fixup handler in place (the fast path) and, in a child, without. */
static int safe_equal_cases(void)
{
  size_t page = 4096;
  unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 1;
  if (mprotect(m + page, page, PROT_NONE) != 0) return 2;
  unsigned char want[64];
  for (size_t n = 1; n <= 64; n++) {
    unsigned char *at = m + page - n; /* ends at the guard page */
    for (size_t i = 0; i < n; i++) at[i] = want[i] = (unsigned char)(i * 7 + n);
    if (!fs_safe_equal((uintptr_t)at, want, n)) return 3;
    for (size_t i = 0; i < n; i++) {
      want[i] ^= 0x40;
      int eq = fs_safe_equal((uintptr_t)at, want, n);
      want[i] ^= 0x40;
      if (eq) return 4;
    }
    if (fs_safe_equal((uintptr_t)(m + page), want, n)) return 5;
  }
  if (fs_safe_equal((uintptr_t)m, want, 65)) return 6; /* past its bound */
  munmap(m, 2 * page);
  return 0;
}

static void test_safe_equal(void)
{
  pid_t pid = fork();
  if (pid == 0) _exit(safe_equal_cases()); /* no handler: the kernel copies */
  int st = 0;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  fs_fixup_arm();
  CHECK_EQ(safe_equal_cases(), 0);
}

/* The lookup in use: the snapshot when FASTSTACK_MODULE_LOOKUP=snapshot
 * forces it (glibc has _dl_find_object here), or when the C library has
 * no _dl_find_object (musl). */
static void test_lookup_mode(void)
{
  const char *m = getenv("FASTSTACK_MODULE_LOOKUP");
  int forced = m && !strcmp(m, "snapshot");
  int have_dlfo = dlsym(RTLD_DEFAULT, "_dl_find_object") != NULL;
  CHECK_EQ(fs_objects_snapshot_mode(), forced || !have_dlfo);
  fprintf(stderr, "test_modules: module lookup by %s\n",
          fs_objects_snapshot_mode() ? "the snapshot" : "_dl_find_object");
}

/* A static executable has no dynamic section: no shared libc, no dlopen
 * (and static musl no vDSO entry in its object list). */
extern ElfW(Dyn) _DYNAMIC[] __attribute__((weak));

int main(void)
{
  test_lookup_mode();
  test_executable();
  if (_DYNAMIC) {
    test_libc();
    test_vdso();
    test_dlopen_dlclose();
  } else {
    fprintf(stderr, "test_modules: a static executable: shared-object "
                    "cases not run\n");
  }
  test_bad_arguments();
  test_no_vm_readv();
  test_safe_equal();
  return CHECK_DONE("test_modules");
}
