/* elf.c — the ELF reader (see elf.h). Files are mmap'ed, never read whole:
 * only the pages of the sections a lookup touches come into memory.
 *
 * A mapped file may be truncated in place while we read it (a debug file
 * overwritten by `cp`, a package half-upgraded): touching a page past the
 * new end raises SIGBUS. Every mapping is registered with the fixups
 * (common/fixup.c), which then replace the lost pages by zeros and mark
 * the mapping changed instead of letting the process die; the parsers
 * see zeros (bounds-checked like any corrupt data) and the symbolizer
 * discards what it read from a changed file (fs_elf_changed). Copying
 * the files into memory instead would cost their size in resident memory
 * and the first answer the time to read them; the fixup costs nothing
 * until a file shrinks.
 *
 * Why one file of this size (a little over 900 lines): sections,
 * decompression, relocations, notes and the symbol tables all read the
 * same bounds-checked view of one mapping (shdr, fits, the budget), and
 * splitting them would export those helpers to the whole stage. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if FS_HAVE_ZLIB
#include <zlib.h>
#endif
#if FS_HAVE_ZSTD
#include <zstd.h>
#endif
#if FS_HAVE_LZMA
#include <lzma.h>
#endif

#include "symbolize/elf.h"

/* The most one decompressed section may take: bounds what a crafted
 * header can make us allocate. Tests and fuzzers may lower it. */
size_t fs_elf_max_section = (size_t)1 << 30;

static int fail(const char **err, const char *msg)
{
  if (err) *err = msg;
  return -1;
}

/* Is [off, off+n) inside an image of size? */
static int fits(uint64_t off, uint64_t n, size_t size)
{
  return off <= size && n <= size - off;
}

/* ------------------------------------------------------------- headers */

/* Section header i as a struct (copied: the image need not be aligned). */
static int shdr(const fs_elf *e, unsigned i, Elf64_Shdr *out)
{
  if (!e->shdrs || i >= e->shnum) return 0;
  memcpy(out, e->shdrs + (size_t)i * e->shentsize, sizeof *out);
  return 1;
}

/* A relocatable object's sections all have address 0. Its allocated
 * sections are placed one after the other, each aligned, as a linker
 * would (the first, usually .text, at 0): every address then names one
 * byte of one section, and what the debug information says of
 * .text.startup or .text.unlikely does not answer for .text. */
static int place_sections(fs_elf *e, const char **err)
{
  e->secaddr = calloc(e->shnum ? e->shnum : 1, sizeof *e->secaddr);
  if (!e->secaddr) return fail(err, "out of memory");
  uint64_t at = 0;
  for (unsigned i = 1; i < e->shnum; i++) {
    Elf64_Shdr s;
    if (!shdr(e, i, &s) || !(s.sh_flags & SHF_ALLOC)) continue;
    uint64_t al = s.sh_addralign > 1 ? s.sh_addralign : 1;
    if (al & (al - 1) || al > ((uint64_t)1 << 32))
      return fail(err, "relocatable object has a bad section alignment");
    at = (at + al - 1) & ~(al - 1);
    e->secaddr[i] = at;
    if (s.sh_size > ((uint64_t)1 << 40)) return fail(err, "section too big");
    at += s.sh_size;
  }
  return 0;
}

static int parse(fs_elf *e, const char **err)
{
  if (e->size < sizeof(Elf64_Ehdr)) return fail(err, "file too small for ELF");
  Elf64_Ehdr h;
  memcpy(&h, e->img, sizeof h);
  if (memcmp(h.e_ident, ELFMAG, SELFMAG)) return fail(err, "not an ELF file");
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB)
    return fail(err, "not a 64-bit little-endian ELF file");
  e->type = h.e_type;
  if (!h.e_shoff) return 0; /* no sections: symbols unknown, not an error */
  if (h.e_shentsize < sizeof(Elf64_Shdr))
    return fail(err, "ELF section header size is invalid");
  uint64_t shnum = h.e_shnum, shstrndx = h.e_shstrndx;
  if (!fits(h.e_shoff, h.e_shentsize, e->size))
    return fail(err, "ELF section headers lie outside the file");
  Elf64_Shdr s0;
  memcpy(&s0, e->img + h.e_shoff, sizeof s0);
  /* Large counts live in section 0 (gABI extended numbering). */
  if (shnum == 0) shnum = s0.sh_size;
  if (shstrndx == SHN_XINDEX) shstrndx = s0.sh_link;
  if (shnum > 0xffffff || !fits(h.e_shoff, shnum * h.e_shentsize, e->size))
    return fail(err, "ELF section headers lie outside the file");
  e->shdrs = e->img + h.e_shoff;
  e->shnum = (unsigned)shnum;
  e->shentsize = h.e_shentsize;
  Elf64_Shdr ss;
  if (shdr(e, (unsigned)shstrndx, &ss) && ss.sh_type != SHT_NOBITS &&
      fits(ss.sh_offset, ss.sh_size, e->size)) {
    e->shstr.p = e->img + ss.sh_offset;
    e->shstr.n = ss.sh_size;
  }
  e->machine = h.e_machine;
  if (e->type != ET_REL || place_sections(e, err) == 0) return 0;
  free(e->secaddr); /* the caller may not close an image it failed */
  e->secaddr = NULL;
  return -1;
}

/* A file's own decompression budget: FS_DECOMP_RATIO times its size,
 * at least FS_DECOMP_FILE_MIN. */
static uint64_t file_budget(size_t size)
{
  uint64_t b = (uint64_t)size * FS_DECOMP_RATIO;
  return b < FS_DECOMP_FILE_MIN ? FS_DECOMP_FILE_MIN : b;
}

int fs_elf_from_memory(fs_elf *e, const void *p, size_t n, const char **err)
{
  memset(e, 0, sizeof *e);
  e->img = p;
  e->size = n;
  e->dec_left = file_budget(n);
  return parse(e, err);
}

void fs_elf_set_budget(fs_elf *e, fs_budget *b)
{
  e->budget = b;
}

int fs_elf_open(fs_elf *e, const char *path, const char **err)
{
  memset(e, 0, sizeof *e);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return fail(err, errno == ENOENT ? "file not found" : "cannot open file");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    close(fd);
    return fail(err, "not a regular, non-empty file");
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return fail(err, "cannot map file");
  fs_fixup_arm();
  e->guard = fs_fixup_map_add(m, (size_t)st.st_size);
  if (e->guard < 0) {
    /* Unguarded, a truncation would kill the process: not read. */
    munmap(m, (size_t)st.st_size);
    return fail(err, "too many mapped files");
  }
  e->img = m;
  e->size = (size_t)st.st_size;
  e->mapped = 1;
  e->dec_left = file_budget(e->size);
  if (parse(e, err) != 0) {
    fs_elf_close(e);
    return -1;
  }
  return 0;
}

void fs_elf_close(fs_elf *e)
{
  free(e->secaddr);
  for (int i = 0; i < e->nowned; i++) free(e->owned[i]);
  if (e->budget && e->dec_used) atomic_fetch_add(&e->budget->left, e->dec_used);
  if (e->mapped && e->img) {
    fs_fixup_map_remove(e->guard);
    munmap((void *)e->img, e->size);
  }
  if (e->img_owned) free((void *)e->img);
  memset(e, 0, sizeof *e);
}

int fs_elf_changed(const fs_elf *e)
{
  return e->mapped && fs_fixup_map_changed(e->guard);
}

/* ------------------------------------------------------------ sections */

static const char *sec_name(const fs_elf *e, const Elf64_Shdr *s)
{
  if (!e->shstr.p || s->sh_name >= e->shstr.n) return "";
  const char *n = (const char *)e->shstr.p + s->sh_name;
  /* The table must NUL-terminate the name inside itself. */
  if (!memchr(n, 0, e->shstr.n - s->sh_name)) return "";
  return n;
}

/* The index of section name (0: none or not inside the file). */
static unsigned find_index(const fs_elf *e, const char *name, Elf64_Shdr *out)
{
  for (unsigned i = 1; i < e->shnum; i++) {
    if (!shdr(e, i, out)) return 0;
    if (out->sh_type != SHT_NOBITS && !strcmp(sec_name(e, out), name))
      return fits(out->sh_offset, out->sh_size, e->size) ? i : 0;
  }
  return 0;
}

static int find_raw(const fs_elf *e, const char *name, Elf64_Shdr *out)
{
  return find_index(e, name, out) != 0;
}

int fs_elf_has_section(const fs_elf *e, const char *name)
{
  Elf64_Shdr s;
  return find_raw(e, name, &s) && s.sh_size > 0;
}

static void *keep(fs_elf *e, void *buf)
{
  if (e->nowned >= FS_ELF_OWNED_MAX) {
    free(buf);
    return NULL;
  }
  return e->owned[e->nowned++] = buf;
}

#if FS_HAVE_ZLIB
static int inflate_zlib(const uint8_t *in, size_t n, uint8_t *out, size_t outn)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit(&z) != Z_OK) return -1;
  int rc = 0;
  size_t done_in = 0, done_out = 0;
  /* zlib counts in uInt: feed and drain in chunks for huge sections. */
  for (;;) {
    size_t ci = n - done_in, co = outn - done_out;
    z.next_in = (Bytef *)(in + done_in);
    z.avail_in = (uInt)(ci > 1u << 30 ? 1u << 30 : ci);
    z.next_out = out + done_out;
    z.avail_out = (uInt)(co > 1u << 30 ? 1u << 30 : co);
    uInt ai = z.avail_in, ao = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    done_in += ai - z.avail_in;
    done_out += ao - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK || (ai == z.avail_in && ao == z.avail_out)) break;
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END && done_out == outn ? 0 : -1;
}
#endif

/* Takes size bytes from e's budget and the shared one; 0 when either
 * would be exceeded. */
static int budget_take(fs_elf *e, uint64_t size)
{
  if (size > e->dec_left) return 0;
  if (e->budget) {
    uint64_t left = atomic_load(&e->budget->left);
    do {
      if (size > left) return 0;
    } while (
        !atomic_compare_exchange_weak(&e->budget->left, &left, left - size));
    e->dec_used += size;
  }
  e->dec_left -= size;
  return 1;
}

/* Gives back what a failed decompression took. */
static void budget_give(fs_elf *e, uint64_t size)
{
  e->dec_left += size;
  if (e->budget) {
    atomic_fetch_add(&e->budget->left, size);
    e->dec_used -= size;
  }
}

/* Decompresses [in, in+n) of the given kind (1 zlib, 2 zstd) to exactly
 * size bytes, into a buffer owned by e. The size is taken from the
 * budgets before anything is allocated. */
static int decompress(fs_elf *e, int kind, const uint8_t *in, size_t n,
                      uint64_t size, fs_bytes *out, const char **err)
{
  if (size == 0 || size > fs_elf_max_section)
    return fail(err, "compressed section has an implausible size");
  /* zlib cannot expand more than ~1032:1; a larger claim is a lie. */
  if (kind == 1 && size / 1032 > n + 64)
    return fail(err, "compressed section has an implausible size");
  if (!budget_take(e, size))
    return fail(err, "decompression budget exceeded (section not read)");
  uint8_t *buf = malloc(size);
  if (!buf) {
    budget_give(e, size);
    return fail(err, "out of memory decompressing a section");
  }
  int ok = 0;
  (void)in; /* unread when built without either library */
  (void)n;
  if (kind == 1) {
#if FS_HAVE_ZLIB
    ok = inflate_zlib(in, n, buf, size) == 0;
#else
    free(buf);
    budget_give(e, size);
    return fail(err, "zlib-compressed section: faststack was built without "
                     "zlib (FASTSTACK_WITH_ZLIB)");
#endif
  } else {
#if FS_HAVE_ZSTD
    size_t r = ZSTD_decompress(buf, size, in, n);
    ok = !ZSTD_isError(r) && r == size;
#else
    free(buf);
    budget_give(e, size);
    return fail(err, "zstd-compressed section: faststack was built without "
                     "libzstd (FASTSTACK_WITH_ZSTD)");
#endif
  }
  if (!ok) {
    free(buf);
    budget_give(e, size);
    return fail(err, "corrupt compressed section");
  }
  if (!keep(e, buf)) return fail(err, "too many compressed sections");
  out->p = buf;
  out->n = size;
  return 0;
}

static int section_contents(fs_elf *e, const Elf64_Shdr *s, int legacy_z,
                            fs_bytes *out, const char **err)
{
  const uint8_t *p = e->img + s->sh_offset;
  size_t n = s->sh_size;
  if (s->sh_flags & SHF_COMPRESSED) {
    if (n < sizeof(Elf64_Chdr))
      return fail(err, "truncated compressed section");
    Elf64_Chdr ch;
    memcpy(&ch, p, sizeof ch);
    int kind = ch.ch_type == ELFCOMPRESS_ZLIB           ? 1
               : ch.ch_type == 2 /* ELFCOMPRESS_ZSTD */ ? 2
                                                        : 0;
    if (!kind) return fail(err, "unknown section compression");
    return decompress(e, kind, p + sizeof ch, n - sizeof ch, ch.ch_size, out,
                      err);
  }
  if (legacy_z) {
    /* .zdebug_*: "ZLIB", the size as 8 big-endian bytes, a zlib stream. */
    if (n < 12 || memcmp(p, "ZLIB", 4)) return fail(err, "bad .zdebug section");
    uint64_t size = 0;
    for (int i = 4; i < 12; i++) size = size << 8 | p[i];
    return decompress(e, 1, p + 12, n - 12, size, out, err);
  }
  out->p = p;
  out->n = n;
  return 0;
}

/* ------------------------------------------------- relocatable objects */

/* The value symbol k of symbol table section symtab stands for: its
 * value plus its section's placed address. -1 when unusable. */
static int sym_value(const fs_elf *e, unsigned symtab, uint64_t k, uint64_t *v)
{
  Elf64_Shdr st;
  if (!shdr(e, symtab, &st) || st.sh_type != SHT_SYMTAB ||
      st.sh_entsize < sizeof(Elf64_Sym) ||
      !fits(st.sh_offset, st.sh_size, e->size) ||
      k >= st.sh_size / st.sh_entsize)
    return -1;
  Elf64_Sym sym;
  memcpy(&sym, e->img + st.sh_offset + k * st.sh_entsize, sizeof sym);
  *v = sym.st_value;
  if (sym.st_shndx != SHN_UNDEF && sym.st_shndx != SHN_ABS &&
      sym.st_shndx < e->shnum)
    *v += e->secaddr[sym.st_shndx];
  return 0;
}

/* Applies one RELA section's x86-64 relocations to buf (a copy of the
 * section they target). The debug sections of an object hold
 * R_X86_64_64/32/32S (addresses; offsets into other debug sections by
 * their section symbols) and DTPOFF32/64 (thread-local variables);
 * anything else refuses the section: names read at unrelocated offsets
 * would be other strings. */
static int apply_rela(const fs_elf *e, const Elf64_Shdr *rs, uint8_t *buf,
                      size_t n, const char **err)
{
  if (rs->sh_entsize < sizeof(Elf64_Rela) ||
      !fits(rs->sh_offset, rs->sh_size, e->size))
    return fail(err, "corrupt relocation section");
  size_t count = rs->sh_size / rs->sh_entsize;
  for (size_t i = 0; i < count; i++) {
    Elf64_Rela r;
    memcpy(&r, e->img + rs->sh_offset + i * rs->sh_entsize, sizeof r);
    unsigned type = ELF64_R_TYPE(r.r_info);
    uint64_t v;
    if (type == R_X86_64_NONE) continue;
    if (sym_value(e, rs->sh_link, ELF64_R_SYM(r.r_info), &v) != 0)
      return fail(err, "relocation names a bad symbol");
    v += (uint64_t)r.r_addend;
    int w = type == R_X86_64_64 || type == R_X86_64_DTPOFF64 ? 8
            : type == R_X86_64_32 || type == R_X86_64_32S ||
                    type == R_X86_64_DTPOFF32
                ? 4
                : 0;
    if (!w) return fail(err, "unsupported relocation type in a debug section");
    if (r.r_offset > n || (size_t)w > n - r.r_offset)
      return fail(err, "relocation outside its section");
    uint32_t v32 = (uint32_t)v;
    memcpy(buf + r.r_offset, w == 8 ? (void *)&v : (void *)&v32, (size_t)w);
  }
  return 0;
}

/* A relocatable object's debug section out, relocated: a copy (taken
 * from the budget, kept by e) with every .rela section that targets
 * section index idx applied. A non-x86-64 object, or a relocation we do
 * not know, refuses the section. */
static int relocate(fs_elf *e, unsigned idx, fs_bytes *out, const char **err)
{
  int any = 0;
  for (unsigned i = 1; i < e->shnum; i++) {
    Elf64_Shdr rs;
    if (!shdr(e, i, &rs)) break;
    if ((rs.sh_type != SHT_RELA && rs.sh_type != SHT_REL) || rs.sh_info != idx)
      continue;
    if (rs.sh_type == SHT_REL || e->machine != EM_X86_64)
      return fail(err, "relocations of this object are not supported");
    if (!any) {
      int owned = e->nowned && e->owned[e->nowned - 1] == out->p;
      if (!owned) { /* not decompressed: copy it */
        if (!budget_take(e, out->n))
          return fail(err, "decompression budget exceeded (section not read)");
        uint8_t *c = malloc(out->n ? out->n : 1);
        if (!c || !keep(e, c)) return fail(err, "out of memory");
        memcpy(c, out->p, out->n);
        out->p = c;
      }
      any = 1;
    }
    if (apply_rela(e, &rs, (uint8_t *)out->p, out->n, err) != 0) return -1;
  }
  return 0;
}

/* Section idx's contents (legacy_z: a .zdebug_ section), relocated in an
 * ET_REL object. 1, or 0 with out empty. */
static int section_at(fs_elf *e, unsigned idx, const Elf64_Shdr *s,
                      int legacy_z, fs_bytes *out, const char **err)
{
  if (section_contents(e, s, legacy_z, out, err) != 0) return 0;
  if (e->type == ET_REL && relocate(e, idx, out, err) != 0) {
    out->p = NULL;
    out->n = 0;
    return 0;
  }
  return 1;
}

int fs_elf_section(fs_elf *e, const char *name, fs_bytes *out, const char **err)
{
  out->p = NULL;
  out->n = 0;
  Elf64_Shdr s;
  unsigned idx;
  if ((idx = find_index(e, name, &s)))
    return section_at(e, idx, &s, 0, out, err);
  if (!strncmp(name, ".debug_", 7)) {
    char z[64];
    size_t l = strlen(name);
    if (l + 2 > sizeof z) return 0;
    memcpy(z, ".zdebug_", 8);
    memcpy(z + 8, name + 7, l - 6);
    if ((idx = find_index(e, z, &s)))
      return section_at(e, idx, &s, 1, out, err);
  }
  return 0;
}

/* ------------------------------------------------------ MiniDebugInfo */

/* xz-decompresses [in, in+n) into a buffer grown as output comes, never
 * past max bytes. 0 with *out, *outn; -1. */
static int unxz(const uint8_t *in, size_t n, uint64_t max, uint8_t **out,
                size_t *outn)
{
#if !FS_HAVE_LZMA
  (void)in, (void)n, (void)max, (void)out, (void)outn;
  return -1; /* built without liblzma (FASTSTACK_WITH_LZMA) */
#else
  lzma_stream z = LZMA_STREAM_INIT;
  /* The decoder's own memory (dictionary) is bounded too. */
  if (lzma_stream_decoder(&z, (uint64_t)256 << 20, 0) != LZMA_OK) return -1;
  size_t cap = n * 4 < max ? n * 4 + 4096 : (size_t)max;
  uint8_t *buf = cap ? malloc(cap) : NULL;
  lzma_ret rc = LZMA_OK;
  z.next_in = in;
  z.avail_in = n;
  while (buf && rc == LZMA_OK) {
    if (z.total_out == cap) {
      if (cap >= max) break; /* over the budget */
      size_t nc = cap * 2 < max ? cap * 2 : (size_t)max;
      uint8_t *nb = realloc(buf, nc);
      if (!nb) break;
      buf = nb;
      cap = nc;
    }
    z.next_out = buf + z.total_out;
    z.avail_out = cap - (size_t)z.total_out;
    rc = lzma_code(&z, LZMA_FINISH);
  }
  *outn = (size_t)z.total_out;
  lzma_end(&z);
  if (rc != LZMA_STREAM_END) {
    free(buf);
    return -1;
  }
  *out = buf;
  return 0;
#endif
}

int fs_elf_minidebuginfo(fs_elf *e, fs_elf *out, const char **err)
{
  Elf64_Shdr s;
  if (!find_raw(e, ".gnu_debugdata", &s) || s.sh_size == 0) return 0;
  uint64_t max =
      e->dec_left < fs_elf_max_section ? e->dec_left : fs_elf_max_section;
  if (e->budget) {
    uint64_t left = atomic_load(&e->budget->left);
    if (left < max) max = left;
  }
  uint8_t *img;
  size_t n;
  if (unxz(e->img + s.sh_offset, s.sh_size, max, &img, &n) != 0) {
    fail(err, "corrupt or oversized .gnu_debugdata (MiniDebugInfo)");
    return 0;
  }
  if (!budget_take(e, n)) { /* another thread took the rest meanwhile */
    free(img);
    fail(err, "decompression budget exceeded (MiniDebugInfo not read)");
    return 0;
  }
  if (fs_elf_from_memory(out, img, n, err) != 0) {
    budget_give(e, n);
    free(img);
    return 0;
  }
  out->img_owned = 1;
  return 1;
}

/* ------------------------------------------------------ build-id, link */

/* GNU build-id in a note area [p, p+n). */
static unsigned note_build_id(const uint8_t *p, size_t n, uint8_t *id,
                              unsigned max)
{
  size_t off = 0;
  while (n - off >= 12) {
    uint32_t namesz = fs_rd32(p + off), descsz = fs_rd32(p + off + 4),
             type = fs_rd32(p + off + 8);
    size_t name_off = off + 12;
    size_t desc_off = name_off + (((size_t)namesz + 3) & ~(size_t)3);
    if (namesz > n || descsz > n || desc_off > n || descsz > n - desc_off)
      return 0;
    if (type == NT_GNU_BUILD_ID && namesz == 4 &&
        !memcmp(p + name_off, "GNU", 4) && descsz > 0) {
      unsigned k = descsz < max ? descsz : max;
      memcpy(id, p + desc_off, k);
      return descsz;
    }
    off = desc_off + (((size_t)descsz + 3) & ~(size_t)3);
  }
  return 0;
}

unsigned fs_elf_build_id(const fs_elf *e, uint8_t *id, unsigned max)
{
  Elf64_Shdr s;
  for (unsigned i = 1; i < e->shnum && shdr(e, i, &s); i++) {
    if (s.sh_type != SHT_NOTE || !fits(s.sh_offset, s.sh_size, e->size))
      continue;
    unsigned r = note_build_id(e->img + s.sh_offset, s.sh_size, id, max);
    if (r) return r;
  }
  /* No section headers (or no note section): the program headers. */
  Elf64_Ehdr h;
  memcpy(&h, e->img, sizeof h);
  if (h.e_phentsize < sizeof(Elf64_Phdr) ||
      !fits(h.e_phoff, (uint64_t)h.e_phnum * h.e_phentsize, e->size))
    return 0;
  for (unsigned i = 0; i < h.e_phnum; i++) {
    Elf64_Phdr ph;
    memcpy(&ph, e->img + h.e_phoff + (size_t)i * h.e_phentsize, sizeof ph);
    if (ph.p_type != PT_NOTE || !fits(ph.p_offset, ph.p_filesz, e->size))
      continue;
    unsigned r = note_build_id(e->img + ph.p_offset, ph.p_filesz, id, max);
    if (r) return r;
  }
  return 0;
}

int fs_elf_debuglink(const fs_elf *e, const char **name, uint32_t *crc)
{
  Elf64_Shdr s;
  if (!find_raw(e, ".gnu_debuglink", &s)) return 0;
  const uint8_t *p = e->img + s.sh_offset;
  const uint8_t *nul = memchr(p, 0, s.sh_size);
  if (!nul || nul == p) return 0;
  size_t crc_off = ((size_t)(nul - p) + 1 + 3) & ~(size_t)3;
  if (crc_off + 4 > s.sh_size) return 0;
  *name = (const char *)p;
  *crc = fs_rd32(p + crc_off);
  return 1;
}

/* The CRC-32 .gnu_debuglink records (zlib's; without zlib, the same
 * polynomial bit by bit: a debug file is checked once). */
static unsigned long crc_update(unsigned long c, const unsigned char *p,
                                size_t n)
{
#if FS_HAVE_ZLIB
  if (!p) return crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt k = n > 1u << 30 ? 1u << 30 : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return c;
#else
  uint32_t x = ~(uint32_t)c;
  for (size_t i = 0; p && i < n; i++) {
    x ^= p[i];
    for (int b = 0; b < 8; b++) x = (x >> 1) ^ (0xedb88320u & (0u - (x & 1)));
  }
  return ~x;
#endif
}

/* .debug_sup: version (2), is_supplementary (1), file name, then the
 * checksum's length (ULEB128) and bytes. 1 when it parses. */
static int debug_sup(const fs_elf *e, int *is_sup, const char **name,
                     const uint8_t **sum, unsigned *sum_size)
{
  Elf64_Shdr s;
  if (!find_raw(e, ".debug_sup", &s) || s.sh_size < 4) return 0;
  const uint8_t *p = e->img + s.sh_offset, *end = p + s.sh_size;
  if (fs_rd16(p) != 5 || p[2] > 1) return 0;
  const uint8_t *nm = p + 3, *nul = memchr(nm, 0, (size_t)(end - nm));
  if (!nul) return 0;
  uint64_t len = 0;
  const uint8_t *q = nul + 1;
  for (int shift = 0; q < end && shift < 35; shift += 7) {
    len |= (uint64_t)(*q & 0x7f) << shift;
    if (!(*q++ & 0x80)) break;
  }
  if (len > (uint64_t)(end - q)) return 0;
  *is_sup = p[2];
  *name = (const char *)nm;
  *sum = q;
  *sum_size = (unsigned)len;
  return 1;
}

int fs_elf_altlink(const fs_elf *e, const char **name, const uint8_t **id,
                   unsigned *id_size)
{
  Elf64_Shdr s;
  if (find_raw(e, ".gnu_debugaltlink", &s)) {
    /* The file name, NUL, then the alternate file's build-id. */
    const uint8_t *p = e->img + s.sh_offset;
    const uint8_t *nul = memchr(p, 0, s.sh_size);
    if (!nul || nul == p) return 0;
    *name = (const char *)p;
    *id = nul + 1;
    *id_size = (unsigned)(s.sh_size - (size_t)(nul + 1 - p));
    return 1;
  }
  int is_sup;
  return debug_sup(e, &is_sup, name, id, id_size) && !is_sup && **name;
}

int fs_elf_sup_checksum(const fs_elf *e, const uint8_t **sum, unsigned *n)
{
  int is_sup;
  const char *name;
  return debug_sup(e, &is_sup, &name, sum, n) && is_sup;
}

int fs_file_crc32(const char *path, uint32_t *crc)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  unsigned long c = crc_update(0, NULL, 0);
  unsigned char buf[1 << 16];
  ssize_t r;
  while ((r = read(fd, buf, sizeof buf)) > 0) c = crc_update(c, buf, (size_t)r);
  close(fd);
  if (r < 0) return -1;
  *crc = (uint32_t)c;
  return 0;
}

/* ------------------------------------------------------------- symbols */

/* Which of two symbols at one address names it: a global over a weak over
 * a local binding (aliases like glibc's __GI_x are local), then a sized
 * one, then the first in the table (llvm-symbolizer's choice too). */
static int better(const fs_sym *a, int abind, size_t aidx, const fs_sym *b,
                  int bbind, size_t bidx)
{
  static const int rank[] = {[STB_LOCAL] = 0, [STB_GLOBAL] = 2, [STB_WEAK] = 1};
  int ra = abind <= STB_WEAK ? rank[abind] : 0;
  int rb = bbind <= STB_WEAK ? rank[bbind] : 0;
  if (ra != rb) return ra > rb;
  if ((a->size != 0) != (b->size != 0)) return a->size != 0;
  return aidx < bidx;
}

typedef struct symx {
  fs_sym s;
  int bind;
  int tls;    /* STT_TLS */
  size_t idx; /* position in the table */
} symx;

static int cmp_symx(const void *a, const void *b)
{
  const symx *x = a, *y = b;
  if (x->s.addr != y->s.addr) return x->s.addr < y->s.addr ? -1 : 1;
  return better(&x->s, x->bind, x->idx, &y->s, y->bind, y->idx)   ? -1
         : better(&y->s, y->bind, y->idx, &x->s, x->bind, x->idx) ? 1
                                                                  : 0;
}

/* By address (ties in any order: the caller picks the best alias). A
 * radix sort: a symbol table has tens of thousands of entries. */
static void sort_symx(symx *v, size_t n)
{
  uint64_t lo = UINT64_MAX;
  for (size_t i = 0; i < n; i++)
    if (v[i].s.addr < lo) lo = v[i].s.addr;
  uint64_t *keys = malloc((n ? n : 1) * sizeof *keys);
  for (size_t i = 0; keys && i < n; i++) keys[i] = v[i].s.addr - lo;
  if (!keys || fs_sort_keyed(v, n, sizeof *v, keys) != 0)
    qsort(v, n, sizeof *v, cmp_symx);
  free(keys);
}

/* Where the thread-local initialization image starts (PT_TLS), which
 * an executable's or library's STT_TLS values are relative to. */
static uint64_t tls_base(const fs_elf *e)
{
  Elf64_Ehdr h;
  memcpy(&h, e->img, sizeof h);
  if (h.e_phentsize < sizeof(Elf64_Phdr) ||
      !fits(h.e_phoff, (uint64_t)h.e_phnum * h.e_phentsize, e->size))
    return 0;
  for (unsigned i = 0; i < h.e_phnum; i++) {
    Elf64_Phdr ph;
    memcpy(&ph, e->img + h.e_phoff + (size_t)i * h.e_phentsize, sizeof ph);
    if (ph.p_type == PT_TLS) return ph.p_vaddr;
  }
  return 0;
}

/* Function symbols (data 0) or data symbols (1: STT_OBJECT, STT_TLS) of
 * the table of the given type, sorted by address, one per address. */
static int load_symbols(const fs_elf *e, unsigned type, fs_symtab *out,
                        int data)
{
  uint64_t tls = data ? tls_base(e) : 0;
  Elf64_Shdr s, str;
  unsigned i;
  for (i = 1; i < e->shnum && shdr(e, i, &s); i++)
    if (s.sh_type == type) break;
  if (i >= e->shnum || s.sh_entsize < sizeof(Elf64_Sym) ||
      !fits(s.sh_offset, s.sh_size, e->size) || !shdr(e, s.sh_link, &str) ||
      str.sh_type == SHT_NOBITS || !fits(str.sh_offset, str.sh_size, e->size))
    return -1;
  size_t count = s.sh_size / s.sh_entsize;
  symx *v = malloc((count ? count : 1) * sizeof *v);
  if (!v) return -1;
  const char *strs = (const char *)e->img + str.sh_offset;
  size_t n = 0;
  for (size_t k = 0; k < count; k++) {
    const uint8_t *p = e->img + s.sh_offset + k * s.sh_entsize;
    uint32_t name = fs_rd32(p);
    unsigned char info = p[4];
    uint16_t shndx = fs_rd16(p + 6);
    uint64_t value = fs_rd64(p + 8), size = fs_rd64(p + 16);
    int t = ELF64_ST_TYPE(info);
    int want = data ? t == STT_OBJECT || t == STT_TLS
                    : t == STT_FUNC || t == STT_GNU_IFUNC;
    /* In an object, a symbol's value is its offset in its section:
     * 0 is the first function's. */
    if (!want || shndx == SHN_UNDEF ||
        (value == 0 && e->type != ET_REL && t != STT_TLS) || name == 0 ||
        name >= str.sh_size || !memchr(strs + name, 0, str.sh_size - name))
      continue;
    if (e->type == ET_REL && shndx < e->shnum) value += e->secaddr[shndx];
    else if (t == STT_TLS && e->type != ET_REL) value += tls;
    v[n].s.addr = value;
    v[n].s.size = size;
    v[n].s.name = strs + name;
    v[n].bind = ELF64_ST_BIND(info);
    v[n].tls = t == STT_TLS;
    v[n].idx = k;
    n++;
  }
  sort_symx(v, n);
  /* One symbol per address: the best of its aliases. */
  fs_sym *syms = malloc((n ? n : 1) * sizeof *syms);
  uint8_t *tlsv = data ? calloc(n ? n : 1, 1) : NULL;
  uint8_t *localv = data ? NULL : calloc(n ? n : 1, 1);
  if (!syms || (data && !tlsv) || (!data && !localv)) {
    free(syms);
    free(tlsv);
    free(localv);
    free(v);
    return -1;
  }
  size_t m = 0, extra = 0;
  for (size_t k = 0; k < n;) {
    size_t best = k, j = k + 1;
    for (; j < n && v[j].s.addr == v[k].s.addr; j++) {
      /* A variable with a size names its bytes better than a size-0
       * marker at the same address (completed.0 over __TMC_END__). */
      int sized = (v[j].s.size != 0) - (v[best].s.size != 0);
      if (data && sized) {
        if (sized > 0) best = j;
      } else if (better(&v[j].s, v[j].bind, v[j].idx, &v[best].s, v[best].bind,
                        v[best].idx)) {
        best = j;
      }
    }
    if (tlsv) tlsv[m] = (uint8_t)v[best].tls;
    if (localv) localv[m] = v[best].bind == STB_LOCAL;
    syms[m++] = v[best].s;
    const char *at = strchr(v[best].s.name, '@');
    if (at) extra += (size_t)(at - v[best].s.name) + 1;
    k = j;
  }
  free(v);
  memset(out, 0, sizeof *out);
  out->tls = tlsv;
  out->local = localv;
  if (extra && !(out->names = malloc(extra))) {
    free(syms);
    free(tlsv);
    free(localv);
    out->tls = NULL;
    out->local = NULL;
    return -1;
  }
  for (size_t k = 0, used = 0; extra && k < m; k++) {
    const char *at = strchr(syms[k].name, '@');
    if (!at) continue;
    size_t len = (size_t)(at - syms[k].name);
    memcpy(out->names + used, syms[k].name, len);
    out->names[used + len] = '\0';
    syms[k].name = out->names + used;
    used += len + 1;
  }
  out->syms = syms;
  out->n = m;
  out->dynamic = type == SHT_DYNSYM;
  return 0;
}

int fs_elf_symtab(const fs_elf *e, fs_symtab *out)
{
  memset(out, 0, sizeof *out);
  if (load_symbols(e, SHT_SYMTAB, out, 0) == 0 && out->n > 0) return 0;
  fs_symtab_free(out);
  return load_symbols(e, SHT_DYNSYM, out, 0);
}

int fs_elf_data_symtab(const fs_elf *e, fs_symtab *out)
{
  memset(out, 0, sizeof *out);
  if (load_symbols(e, SHT_SYMTAB, out, 1) == 0 && out->n > 0) return 0;
  fs_symtab_free(out);
  return load_symbols(e, SHT_DYNSYM, out, 1);
}

void fs_symtab_free(fs_symtab *t)
{
  free(t->syms);
  free(t->tls);
  free(t->local);
  free(t->names);
  memset(t, 0, sizeof *t);
}

const fs_sym *fs_symtab_find(const fs_symtab *t, uint64_t addr)
{
  size_t lo = 0, hi = t->n;
  while (lo < hi) { /* first symbol with addr > the address */
    size_t mid = lo + (hi - lo) / 2;
    if (t->syms[mid].addr <= addr) lo = mid + 1;
    else hi = mid;
  }
  /* A symbol may nest inside an earlier, larger one: look back a little. */
  for (size_t k = lo, steps = 0; k > 0 && steps < 4; k--, steps++) {
    const fs_sym *s = &t->syms[k - 1];
    if (addr - s->addr < s->size || (s->size == 0 && addr == s->addr)) return s;
  }
  return NULL;
}
