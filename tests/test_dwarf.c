/* test_dwarf.c — the DWARF reader against llvm-symbolizer on fixtures
 * built with gcc and clang (-O0/-O2, DWARF 4/5), plus corruption runs.
 * Sections come from a tiny test-only ELF reader (no dependence on the
 * library's ELF code). Usage: test_dwarf FIXTURE... */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "symbolize/dwarf.h"

typedef struct fixture {
  const uint8_t *map;
  size_t size;
  fs_dwarf_sections s;
  uint64_t text_lo, text_hi;
} fixture;

static fs_bytes *section_slot(fs_dwarf_sections *s, const char *name)
{
  static const char *names[] = {
      ".debug_info",     ".debug_abbrev",      ".debug_line", ".debug_str",
      ".debug_line_str", ".debug_str_offsets", ".debug_addr", ".debug_ranges",
      ".debug_rnglists", ".debug_aranges"};
  fs_bytes *slots[] = {&s->info,     &s->abbrev,      &s->line, &s->str,
                       &s->line_str, &s->str_offsets, &s->addr, &s->ranges,
                       &s->rnglists, &s->aranges};
  for (int i = 0; i < 10; i++)
    if (strcmp(name, names[i]) == 0) return slots[i];
  return NULL;
}

static int load(const char *path, fixture *fx)
{
  memset(fx, 0, sizeof *fx);
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return -1;
  fx->size = (size_t)st.st_size;
  fx->map = mmap(NULL, fx->size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (fx->map == MAP_FAILED) return -1;
  const Elf64_Ehdr *eh = (const void *)fx->map;
  const Elf64_Shdr *sh = (const void *)(fx->map + eh->e_shoff);
  const char *names = (const char *)fx->map + sh[eh->e_shstrndx].sh_offset;
  for (int i = 0; i < eh->e_shnum; i++) {
    const char *n = names + sh[i].sh_name;
    if (strcmp(n, ".text") == 0) {
      fx->text_lo = sh[i].sh_addr;
      fx->text_hi = sh[i].sh_addr + sh[i].sh_size;
    }
    fs_bytes *b = section_slot(&fx->s, n);
    if (b && sh[i].sh_type != SHT_NOBITS) {
      b->p = fx->map + sh[i].sh_offset;
      b->n = sh[i].sh_size;
    }
  }
  return 0;
}

static const char *base(const char *p)
{
  const char *s = p ? strrchr(p, '/') : NULL;
  return s ? s + 1 : p ? p : "??";
}

/* Runs llvm-symbolizer over [lo,hi) and compares frame by frame. */
static void compare(const char *path, fixture *fx, fs_dwarf *d, int *agree,
                    int *total)
{
  char cmd[4096];
  static char line[4096];
  char tmp[] = "/tmp/test_dwarf_XXXXXX";
  int fd = mkstemp(tmp);
  FILE *in = fdopen(fd, "w");
  for (uint64_t a = fx->text_lo; a < fx->text_hi; a++)
    fprintf(in, "0x%llx\n", (unsigned long long)a);
  fclose(in);
  snprintf(cmd, sizeof cmd,
           "llvm-symbolizer --obj=%s --inlining --no-demangle "
           "--functions=short < %s",
           path, tmp);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return;
  for (uint64_t a = fx->text_lo; a < fx->text_hi; a++) {
    static char fn[64][2048];
    char file[64][512];
    int ln[64], col[64], n = 0;
    while (fgets(line, sizeof line, p) && line[0] != '\n') {
      if (n >= 64) continue;
      line[strcspn(line, "\n")] = 0;
      snprintf(fn[n], sizeof fn[n], "%.2000s", line);
      if (!fgets(line, sizeof line, p)) break;
      line[strcspn(line, "\n")] = 0;
      ln[n] = col[n] = 0;
      char *c1 = strchr(line, ':');
      if (c1) {
        *c1 = 0;
        sscanf(c1 + 1, "%d:%d", &ln[n], &col[n]);
      }
      snprintf(file[n], sizeof file[n], "%.400s", base(line));
      n++;
    }
    fs_dwarf_frame fr[64];
    int m = fs_dwarf_lookup(d, a, fr, 64);
    int ok;
    if (n == 1 && strcmp(fn[0], "??") == 0 && ln[0] == 0)
      ok = m == 0 || (m == 1 && !fr[0].name && fr[0].line == 0);
    else if (n == 1 && strcmp(fn[0], "??") == 0)
      ok = m == 1 && !fr[0].name && fr[0].line == ln[0];
    else {
      ok = m == n;
      for (int i = 0; ok && i < n; i++)
        ok = fr[i].name && strcmp(fr[i].name, fn[i]) == 0 &&
             strcmp(base(fr[i].file), file[i]) == 0 && fr[i].line == ln[i] &&
             fr[i].column == col[i] && fr[i].inlined == (i < n - 1);
    }
    if (!ok && *total - *agree < 5) {
      fprintf(stderr, "%s 0x%llx: llvm %d frames (%s %s:%d:%d), ours %d", path,
              (unsigned long long)a, n, fn[0], file[0], ln[0], col[0], m);
      if (m > 0)
        fprintf(stderr, " (%s %s:%d:%d)", fr[0].name ? fr[0].name : "??",
                base(fr[0].file), fr[0].line, fr[0].column);
      fprintf(stderr, "\n");
    }
    *agree += ok;
    (*total)++;
  }
  pclose(p);
  unlink(tmp);
}

/* Known inline chain: some address must be fx_leaf <- fx_mid <- fx_outer
 * (in -O2 builds, where always_inline expands). */
static void check_chain(fixture *fx, fs_dwarf *d)
{
  int found = 0;
  for (uint64_t a = fx->text_lo; a < fx->text_hi && !found; a++) {
    fs_dwarf_frame fr[8];
    int m = fs_dwarf_lookup(d, a, fr, 8);
    if (m == 3 && fr[0].name && strcmp(fr[0].name, "fx_leaf") == 0 &&
        fr[1].name && strcmp(fr[1].name, "fx_mid") == 0 && fr[2].name &&
        strcmp(fr[2].name, "fx_outer") == 0 &&
        strcmp(base(fr[0].file), "fx.h") == 0 && fr[0].line > 0) {
      found = 1;
      CHECK_STREQ(base(fr[0].file), "fx.h");
      CHECK(fr[0].line >= 5 && fr[0].line <= 8);
      CHECK_STREQ(base(fr[1].file), "fx.h");
      CHECK(fr[1].line == 10 || fr[1].line == 12); /* calls of fx_leaf */
      CHECK_STREQ(base(fr[2].file), "fx.c");
      CHECK_EQ(fr[2].line, 8); /* s += fx_mid(i); */
      CHECK_EQ(fr[0].inlined, 1);
      CHECK_EQ(fr[2].inlined, 0);
      CHECK(fr[2].func_low_pc != 0 && fr[2].func_low_pc <= a);
      CHECK(fr[0].comp_dir != NULL);
    }
  }
  CHECK(found);
}

/* Corrupt copies of each section: lookups must not crash. */
static void corrupt(fixture *fx)
{
  fs_bytes *secs[] = {&fx->s.info,        &fx->s.abbrev, &fx->s.line,
                      &fx->s.str_offsets, &fx->s.addr,   &fx->s.rnglists,
                      &fx->s.ranges};
  unsigned seed = 12345;
  for (int k = 0; k < 7; k++) {
    fs_bytes orig = *secs[k];
    if (!orig.p) continue;
    uint8_t *buf = malloc(orig.n + 1);
    for (int round = 0; round < 40; round++) {
      memcpy(buf, orig.p, orig.n);
      size_t n = orig.n;
      if (round % 4 == 0) n = (size_t)rand_r(&seed) % (orig.n + 1);
      for (int f = 0; f < 1 + round % 8 && n; f++)
        buf[(size_t)rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
      fs_dwarf_sections s = fx->s;
      *(k == 0   ? &s.info
        : k == 1 ? &s.abbrev
        : k == 2 ? &s.line
        : k == 3 ? &s.str_offsets
        : k == 4 ? &s.addr
        : k == 5 ? &s.rnglists
                 : &s.ranges) = (fs_bytes){buf, n};
      fs_dwarf *d = fs_dwarf_create(&s, 4096, NULL);
      if (!d) continue;
      for (uint64_t a = fx->text_lo; a < fx->text_hi; a += 3) {
        fs_dwarf_frame fr[16];
        int m = fs_dwarf_lookup(d, a, fr, 16);
        CHECK(m >= 0 && m <= 16);
        for (int i = 0; i < m; i++)
          if (fr[i].name) CHECK(strlen(fr[i].name) < (1u << 30));
      }
      (void)fs_dwarf_error(d);
      fs_dwarf_free(d);
    }
    free(buf);
  }
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    fixture fx;
    CHECK(load(argv[i], &fx) == 0);
    const char *err = NULL;
    fs_dwarf *d = fs_dwarf_create(&fx.s, 0, &err);
    CHECK(d != NULL);
    if (!d) {
      fprintf(stderr, "%s: %s\n", argv[i], err);
      continue;
    }
    int agree = 0, total = 0;
    compare(argv[i], &fx, d, &agree, &total);
    fprintf(stderr, "%s: %d/%d addresses agree with llvm-symbolizer\n", argv[i],
            agree, total);
    CHECK_EQ(agree, total);
    if (strstr(argv[i], "fx_") && strstr(argv[i], "O2")) check_chain(&fx, d);
    fs_dwarf_free(d);
    /* a tiny budget forces eviction on every unit switch */
    d = fs_dwarf_create(&fx.s, 1, &err);
    agree = total = 0;
    compare(argv[i], &fx, d, &agree, &total);
    CHECK_EQ(agree, total);
    fs_dwarf_free(d);
    corrupt(&fx);
  }
  return check_failures ? 1 : 0;
}
