/* names.c — function names as people read them.
 *
 * A demangled C++ name is exact and long: every typedef expanded, every
 * default template argument spelled out, library internals' template
 * arguments nested three deep. The pruned form keeps what tells one
 * function from another and drops what the standard library adds:
 *
 *   1. std::__cxx11:: and libc++'s std::__1:: become std::, the
 *      [abi:cxx11] tag goes;
 *   2. the typedefs every reader knows come back: std::string (and
 *      wstring, u8/u16/u32string), std::string_view, the streams;
 *   3. default template arguments of std:: templates are dropped:
 *      std::allocator<...> after the first argument, and std::less<T>,
 *      std::hash<T>, std::equal_to<T>, std::char_traits<T> and
 *      std::default_delete<T> when T is the first argument;
 *   4. the argument list of a reserved name (__x or _X: the library's
 *      own helpers) becomes <…>, and so does any list nested in another
 *      one and longer than FS_NAME_LONG_ARGS bytes;
 *   5. "> >" becomes ">>" and a function template's return type goes.
 *
 * Only in the Go and gin formats; JSON and raw keep the exact name. All
 * of it works in two fixed buffers on the stack, so the crash handler
 * prints pruned names too; a name longer than FS_NAME_MAX prints as is. */
#include <string.h>

#include "format/format.h"

#define FS_NAME_MAX 4096
#define FS_NAME_LONG_ARGS 60
#define FS_NAME_DEPTH 64

/* ------------------------------------------------- step 1 and 2: text */

typedef struct subst {
  const char *from, *to;
} subst;

#define TRAITS(c) "std::char_traits<" c ">"
#define ALLOC(c) "std::allocator<" c ">"
#define STR3(t, c) "std::" t "<" c ", " TRAITS(c) ", " ALLOC(c) " >"
#define STR2(t, c) "std::" t "<" c ", " TRAITS(c) " >"

static const subst typedefs[] = {
    {STR3("basic_string", "char"), "std::string"},
    {STR3("basic_string", "wchar_t"), "std::wstring"},
    {STR3("basic_string", "char8_t"), "std::u8string"},
    {STR3("basic_string", "char16_t"), "std::u16string"},
    {STR3("basic_string", "char32_t"), "std::u32string"},
    {STR2("basic_string_view", "char"), "std::string_view"},
    {STR2("basic_string_view", "wchar_t"), "std::wstring_view"},
    {STR3("basic_ostringstream", "char"), "std::ostringstream"},
    {STR3("basic_istringstream", "char"), "std::istringstream"},
    {STR3("basic_stringstream", "char"), "std::stringstream"},
    {STR3("basic_stringbuf", "char"), "std::stringbuf"},
    {STR2("basic_ostream", "char"), "std::ostream"},
    {STR2("basic_istream", "char"), "std::istream"},
    {STR2("basic_iostream", "char"), "std::iostream"},
    {STR2("basic_ofstream", "char"), "std::ofstream"},
    {STR2("basic_ifstream", "char"), "std::ifstream"},
    {STR2("basic_fstream", "char"), "std::fstream"},
    {STR2("basic_filebuf", "char"), "std::filebuf"},
    {STR2("basic_streambuf", "char"), "std::streambuf"},
    {STR2("basic_ios", "char"), "std::ios"},
};

/* Inline ABI namespaces and tags: nothing a reader needs. */
static const subst abi_tags[] = {
    {"std::__cxx11::", "std::"},
    {"std::__1::", "std::"},
    {"[abi:cxx11]", ""},
};

/* One left-to-right pass replacing each pattern of tab; replacements
 * are never longer than their patterns, so out holds the result. */
static size_t substitute(const char *in, size_t n, char *out, const subst *tab,
                         size_t ntab)
{
  size_t w = 0;
  for (size_t r = 0; r < n;) {
    size_t k = 0;
    for (; k < ntab; k++) {
      size_t fl = strlen(tab[k].from);
      if (fl <= n - r && !memcmp(in + r, tab[k].from, fl)) break;
    }
    if (k == ntab) {
      out[w++] = in[r++];
      continue;
    }
    size_t tl = strlen(tab[k].to);
    memcpy(out + w, tab[k].to, tl);
    w += tl;
    r += strlen(tab[k].from);
  }
  out[w] = '\0';
  return w;
}

/* ---------------------------------------------- step 3 to 5: structure */

static int ident_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/* The operator tokens, longest first: after "operator" their brackets
 * are not brackets ("operator<", "operator()"). */
static const char *const op_tokens[] = {
    "<<=", ">>=", "<=>", "->*", "<<", ">>", "<=", ">=", "==", "!=",
    "&&",  "||",  "++",  "--",  "->", "()", "[]", "+=", "-=", "*=",
    "/=",  "%=",  "&=",  "|=",  "^=", "<",  ">",  "=",  "!",  "+",
    "-",   "*",   "/",   "%",   "^",  "&",  "|",  "~",  ",",
};

/* Length of the operator token at s[i] when "operator" (a whole word,
 * possibly followed by one space) ends right before it; 0 otherwise. */
static size_t operator_token(const char *s, size_t i)
{
  size_t j = i;
  if (j > 0 && s[j - 1] == ' ') j--;
  if (j < 8 || memcmp(s + j - 8, "operator", 8) ||
      (j > 8 && ident_char(s[j - 9])))
    return 0;
  for (size_t k = 0; k < sizeof op_tokens / sizeof op_tokens[0]; k++) {
    size_t l = strlen(op_tokens[k]);
    if (!strncmp(s + i, op_tokens[k], l)) return l;
  }
  return 0;
}

typedef struct pruner {
  const char *in;
  size_t n, r; /* input and read position */
  char *out;
  size_t w, cap; /* output and write position */
  int bad;       /* unbalanced or too deep: print the name as is */
} pruner;

static void put(pruner *p, const char *s, size_t n)
{
  if (p->w + n >= p->cap) {
    p->bad = 1;
    return;
  }
  memcpy(p->out + p->w, s, n);
  p->w += n;
}

/* Does the identifier ending at out[end) start with a reserved prefix
 * (__x or _X), and is it qualified by std:: (for the default rules)? */
static int reserved_before(const pruner *p, size_t end, int *in_std)
{
  size_t b = end;
  while (b > 0 && ident_char(p->out[b - 1])) b--;
  *in_std = b >= 5 && !memcmp(p->out + b - 5, "std::", 5) &&
            (b == 5 || !ident_char(p->out[b - 6]));
  if (end - b < 2 || p->out[b] != '_') return 0;
  return p->out[b + 1] == '_' || (p->out[b + 1] >= 'A' && p->out[b + 1] <= 'Z');
}

static void list(pruner *p, int depth);

/* Copies input up to (not including) an unbalanced closer or, at
 * top_comma, a comma of this level; recurses into brackets. */
static void run(pruner *p, int depth, int top_comma)
{
  while (p->r < p->n && !p->bad) {
    char c = p->in[p->r];
    size_t op = operator_token(p->in, p->r);
    if (op) {
      put(p, p->in + p->r, op);
      p->r += op;
      continue;
    }
    if (c == '<') {
      p->r++;
      list(p, depth + 1);
      continue;
    }
    if (c == '(' || c == '[' || c == '{') {
      char close = c == '(' ? ')' : c == '[' ? ']' : '}';
      put(p, &c, 1);
      p->r++;
      if (depth + 1 >= FS_NAME_DEPTH) {
        p->bad = 1;
        return;
      }
      run(p, depth + 1, 0);
      if (p->r >= p->n || p->in[p->r] != close) {
        p->bad = 1;
        return;
      }
      put(p, &close, 1);
      p->r++;
      continue;
    }
    if (c == '>' || c == ')' || c == ']' || c == '}') return;
    if (c == ',' && top_comma) return;
    put(p, &c, 1);
    p->r++;
  }
}

/* Is the argument text a[0..n) "NAME<first>" for a default NAME? */
static int default_of_first(const char *a, size_t n, const char *first,
                            size_t fn)
{
  static const char *const names[] = {"std::less<", "std::hash<",
                                      "std::equal_to<", "std::char_traits<",
                                      "std::default_delete<"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    size_t l = strlen(names[k]);
    if (n == l + fn + 1 && !memcmp(a, names[k], l) &&
        !memcmp(a + l, first, fn) && a[n - 1] == '>')
      return 1;
  }
  return 0;
}

/* A template argument list; the '<' is consumed, the '>' is consumed
 * here. Arguments are written one by one and taken back when they are
 * a default; the whole list is taken back into <…> when it is a
 * library helper's or nested and long. */
static void list(pruner *p, int depth)
{
  if (depth >= FS_NAME_DEPTH) {
    p->bad = 1;
    return;
  }
  size_t open = p->w;
  int in_std;
  int reserved = reserved_before(p, open, &in_std);
  put(p, "<", 1);
  size_t first = 0, first_len = 0;
  for (int arg = 0; !p->bad; arg++) {
    while (p->r < p->n && p->in[p->r] == ' ') p->r++;
    size_t sep = p->w;
    if (arg) put(p, ", ", 2);
    size_t start = p->w;
    run(p, depth, 1);
    while (p->w > start && p->out[p->w - 1] == ' ') p->w--;
    size_t len = p->w - start;
    if (!arg) {
      first = start;
      first_len = len;
    } else if (in_std &&
               ((len > 15 && !memcmp(p->out + start, "std::allocator<", 15)) ||
                default_of_first(p->out + start, len, p->out + first,
                                 first_len))) {
      p->w = sep; /* a default: take it back */
    }
    if (p->r >= p->n) {
      p->bad = 1;
      return;
    }
    if (p->in[p->r++] == '>') break;
  }
  size_t inner = p->w - open - 1;
  if (reserved || (depth >= 2 && inner > FS_NAME_LONG_ARGS)) {
    if (inner > 3) { /* "…" is three bytes: never longer than before */
      p->w = open + 1;
      put(p, "\xe2\x80\xa6", 3);
    }
  }
  put(p, ">", 1);
}

/* ------------------------------------------------ parameter lists */

/* Where the trailing qualifiers and clone suffixes of a demangled name
 * begin: "f(int) const [clone .isra.0]" -> the index after ')'. */
static size_t core_end(const char *s, size_t n)
{
  static const char *const quals[] = {" const",    " volatile", " &&",     " &",
                                      " noexcept", " restrict", " throw()"};
  for (int changed = 1; changed && n > 0;) {
    changed = 0;
    if (s[n - 1] == ']') { /* " [clone .cold]" and the like */
      size_t b = n;
      while (b > 0 && s[b - 1] != '[') b--;
      if (b >= 2 && s[b - 2] == ' ' && !strncmp(s + b, "clone ", 6)) {
        n = b - 2;
        changed = 1;
        continue;
      }
    }
    for (size_t k = 0; k < sizeof quals / sizeof quals[0]; k++) {
      size_t l = strlen(quals[k]);
      if (n >= l && !memcmp(s + n - l, quals[k], l)) {
        n -= l;
        changed = 1;
        break;
      }
    }
  }
  return n;
}

/* Start of the parameter list: the '(' matching the ')' at end-1. */
static size_t params_open(const char *s, size_t end)
{
  int d = 0;
  for (size_t i = end; i-- > 0;) {
    if (s[i] == ')') d++;
    else if (s[i] == '(' && --d == 0) return i;
  }
  return 0;
}

int fs_name_has_params(const char *name)
{
  if (!name) return 0;
  size_t n = core_end(name, strlen(name));
  if (n == 0 || name[n - 1] != ')') return 0;
  /* "operator()" alone is a name whose parameters are unknown. */
  size_t open = params_open(name, n);
  return !(open + 2 == n && open >= 8 &&
           !memcmp(name + open - 8, "operator", 8));
}

/* A function template's return type: the text before the last space
 * outside brackets before the parameter list ("void std::sort<…>(…)").
 * Conversion operators and operator new/delete keep their words. */
static size_t return_type_end(const char *s, size_t n)
{
  size_t end = core_end(s, n);
  if (end == 0 || s[end - 1] != ')') return 0;
  size_t open = params_open(s, end);
  size_t cut = 0;
  int d = 0;
  for (size_t i = 0; i < open; i++) {
    size_t op = operator_token(s, i);
    if (op) { /* "operator< <int>": the space belongs to the name */
      i += op - (i + op < open && s[i + op] == ' ' ? 0 : 1);
      continue;
    }
    char c = s[i];
    if (c == '<' || c == '(' || c == '[' || c == '{') d++;
    else if (c == '>' || c == ')' || c == ']' || c == '}') d--;
    else if (c == ' ' && d == 0) {
      if (i >= 8 && !memcmp(s + i - 8, "operator", 8)) return cut;
      cut = i + 1;
    }
  }
  return cut;
}

/* --------------------------------------------------------------- API */

/* The pruned form of name, built in a and b (FS_NAME_MAX each): a
 * pointer into a, or NULL when the name is to be printed as is. */
static const char *prune(const char *name, char *a, char *b, size_t *len)
{
  size_t n = name ? strlen(name) : 0;
  if (!name || n >= FS_NAME_MAX) return NULL;
  n = substitute(name, n, a, abi_tags, sizeof abi_tags / sizeof abi_tags[0]);
  n = substitute(a, n, b, typedefs, sizeof typedefs / sizeof typedefs[0]);
  pruner p = {b, n, 0, a, 0, FS_NAME_MAX, 0};
  run(&p, 0, 0);
  if (p.bad || p.r != p.n) return NULL;
  a[p.w] = '\0';
  size_t cut = return_type_end(a, p.w);
  *len = p.w - cut;
  return a + cut;
}

size_t fs_name_prune(const char *name, char *out, size_t cap)
{
  char a[FS_NAME_MAX], b[FS_NAME_MAX];
  size_t len = 0;
  const char *s = prune(name, a, b, &len);
  if (!s) {
    s = name ? name : "";
    len = strlen(s);
  }
  if (cap) {
    size_t k = len < cap ? len : cap - 1;
    memcpy(out, s, k);
    out[k] = '\0';
  }
  return len;
}

void fs_name_write(fs_out *o, const char *name, int pruned)
{
  char a[FS_NAME_MAX], b[FS_NAME_MAX];
  size_t len = 0;
  const char *s = pruned && name ? prune(name, a, b, &len) : NULL;
  if (s) fs_out_mem(o, s, len);
  else fs_out_str(o, name);
}
