/* elf.h — the ELF reader used by the symbolizer (symfile.c): maps a
 * file (or reads an image already in memory, the vDSO), finds sections by
 * name and decompresses them (SHF_COMPRESSED zlib/zstd, legacy .zdebug_),
 * reads the build-id and .gnu_debuglink, and builds a sorted function
 * symbol table from .symtab or .dynsym.
 *
 * Every read is bounds-checked against the image: a truncated or crafted
 * file makes the affected lookups fail (with a message), never crash; a
 * file truncated while mapped reads as zeros past its new end and says so
 * (fs_elf_changed). Only 64-bit little-endian ELF (x86-64, aarch64) is
 * accepted. */
#ifndef FASTSTACK_ELF_H
#define FASTSTACK_ELF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "symbolize/dwarf.h"

/* Most decompressed sections one image keeps (the DWARF set is 10). */
#define FS_ELF_OWNED_MAX 16

/* A budget of bytes decompressed, shared by the files of one symbolizer
 * (zlib, zstd and xz alike): a small crafted file must not make it
 * allocate gigabytes. */
typedef struct fs_budget {
  _Atomic uint64_t left;
} fs_budget;

/* Each file may decompress at most this many times its own size, and at
 * least FS_DECOMP_FILE_MIN bytes (debug information compresses a few
 * times; more is a crafted claim). */
#define FS_DECOMP_RATIO 32
#define FS_DECOMP_FILE_MIN ((uint64_t)64 << 20)
/* What all files of one symbolizer may decompress together by default. */
#define FS_DECOMP_SYMBOLIZER ((uint64_t)4 << 30)

typedef struct fs_elf {
  const uint8_t *img; /* the whole file (mmap) or the in-memory image */
  size_t size;
  int mapped;           /* 1: img is our mmap; unmap on close */
  int img_owned;        /* 1: img is malloc'ed (MiniDebugInfo); free it */
  uint64_t dec_left;    /* bytes this file may still decompress */
  uint64_t dec_used;    /* taken from *budget, given back on close */
  fs_budget *budget;    /* the symbolizer's, or NULL */
  uint16_t machine;     /* e_machine */
  uint64_t *secaddr;    /* ET_REL: each section's placed address */
  int guard;            /* its slot with the fixups (common/fixup.c) */
  uint16_t type;        /* e_type: ET_EXEC, ET_DYN, ... */
  const uint8_t *shdrs; /* section headers (validated to lie in img) */
  unsigned shnum, shentsize;
  fs_bytes shstr;                /* section name table */
  void *owned[FS_ELF_OWNED_MAX]; /* decompressed section buffers */
  int nowned;
} fs_elf;

/* One function symbol: [addr, addr+size). Names point into the image. */
typedef struct fs_sym {
  uint64_t addr, size;
  const char *name;
} fs_sym;

typedef struct fs_symtab {
  fs_sym *syms; /* sorted by addr; one per address (best alias) */
  size_t n;
  int dynamic;    /* 1: from .dynsym */
  uint8_t *tls;   /* data tables: 1 where syms[i] is STT_TLS; else NULL */
  uint8_t *local; /* function tables: 1 where syms[i] has a local binding
                     (no global or weak alias at its address); or NULL */
  char *names;    /* versioned names (printf@@GLIBC_2.2.5) without the
                    version, which is not part of the function's name */
} fs_symtab;

/* Opens and maps path. 0, or -1 with *err set to a static message. */
int fs_elf_open(fs_elf *e, const char *path, const char **err);
/* Reads an ELF image already in memory (the vDSO): [p, p+n) must stay
 * mapped as long as e is used. 0 or -1 with *err. */
int fs_elf_from_memory(fs_elf *e, const void *p, size_t n, const char **err);
void fs_elf_close(fs_elf *e);
/* Has the mapped file shrunk under us (pages past its new end read as
 * zeros since)? Whatever was read from it may be wrong: discard it. */
int fs_elf_changed(const fs_elf *e);

/* Sets the shared budget e's decompressions also draw from (before
 * its sections are read). */
void fs_elf_set_budget(fs_elf *e, fs_budget *b);

/* MiniDebugInfo: the ELF image xz-compressed in e's .gnu_debugdata (a
 * symbol table of the functions .dynsym lacks), decompressed within e's
 * budgets into *out, which owns it. 1 done; 0 none or unusable (then
 * *err names why, if it exists but is bad). */
int fs_elf_minidebuginfo(fs_elf *e, fs_elf *out, const char **err);

/* The contents of section name, decompressed if needed (the buffer is
 * owned by e). Also finds ".zdebug_x" for ".debug_x". 1 found, 0 absent
 * or unusable (then *err names why, if the section exists but is bad). */
int fs_elf_section(fs_elf *e, const char *name, fs_bytes *out,
                   const char **err);
/* Does the image have a section of this name with contents? */
int fs_elf_has_section(const fs_elf *e, const char *name);

/* The GNU build-id's bytes: returns its size (0: none), copying up to max
 * bytes into id. */
unsigned fs_elf_build_id(const fs_elf *e, uint8_t *id, unsigned max);
/* .gnu_debuglink: 1 with *name (into the image) and *crc, else 0. */
int fs_elf_debuglink(const fs_elf *e, const char **name, uint32_t *crc);

/* Function symbols from .symtab, else .dynsym, sorted. 0, or -1 (OOM or
 * no symbol table). Free with fs_symtab_free. */
int fs_elf_symtab(const fs_elf *e, fs_symtab *out);
void fs_symtab_free(fs_symtab *t);
/* Data symbols (STT_OBJECT; STT_TLS at the address of their initial value
 * in the PT_TLS image) from .symtab, else .dynsym, like fs_elf_symtab. */
int fs_elf_data_symtab(const fs_elf *e, fs_symtab *out);
/* The symbol holding addr, or NULL. */
const fs_sym *fs_symtab_find(const fs_symtab *t, uint64_t addr);

/* The supplementary (dwz alternate) file named by .gnu_debugaltlink or
 * DWARF 5 .debug_sup: 1 with *name (into the image) and its build-id (or
 * checksum) bytes [*id, *id + *id_size), else 0. */
int fs_elf_altlink(const fs_elf *e, const char **name, const uint8_t **id,
                   unsigned *id_size);
/* A supplementary file's own .debug_sup checksum (what files that use it
 * record): 1 with [*sum, *sum + *n), else 0. */
int fs_elf_sup_checksum(const fs_elf *e, const uint8_t **sum, unsigned *n);

/* CRC-32 of a whole file, as .gnu_debuglink records it. 0 ok, -1. */
int fs_file_crc32(const char *path, uint32_t *crc);

#endif
