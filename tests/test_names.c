/* test_names.c — C++ names as the Go and gin formats print them: the
 * pruned form (typedefs restored, default template arguments dropped,
 * library helpers' arguments shortened, no return type), exact byte for
 * byte; "(...)" only after names without a parameter list of their own;
 * "(inlined)" in Go and gin alike; the frame filters and short paths. */
#include "check.h"
#include "faststack.h"
#include "format/format.h"

static void prune_is(const char *in, const char *want)
{
  char out[4096];
  size_t n = fs_name_prune(in, out, sizeof out);
  CHECK_STREQ(out, want);
  CHECK_EQ(n, strlen(want));
}

#define S                                                                      \
  "std::__cxx11::basic_string<char, std::char_traits<char>, "                  \
  "std::allocator<char> >"
#define VI "std::vector<int, std::allocator<int> >"
#define NI "__gnu_cxx::__normal_iterator<int*, " VI " >"
#define CMP                                                                    \
  "__gnu_cxx::__ops::_Iter_comp_iter<sorter(" VI "&)::{lambda(int, int)#1}>"

static void test_prune(void)
{
  prune_is("main", "main");
  prune_is("run_batch()", "run_batch()");
  prune_is("take(" S " const&)", "take(std::string const&)");
  prune_is("std::vector<" S ", std::allocator<" S " > >::push_back(" S
           " const&)",
           "std::vector<std::string>::push_back(std::string const&)");
  prune_is("f(std::map<" S ", int, std::less<" S
           ">, std::allocator<std::pair<" S " const, int> > >&)",
           "f(std::map<std::string, int>&)");
  /* Not a default: kept. */
  prune_is("f(std::map<int, int, std::greater<int>, "
           "std::allocator<std::pair<int const, int> > >&)",
           "f(std::map<int, int, std::greater<int>>&)");
  prune_is("g(std::unordered_map<int, long, std::hash<int>, "
           "std::equal_to<int>, std::allocator<std::pair<int const, long> > "
           ">&)",
           "g(std::unordered_map<int, long>&)");
  prune_is("h(std::unique_ptr<Foo, std::default_delete<Foo> >)",
           "h(std::unique_ptr<Foo>)");
  /* A user's template keeps its arguments, defaults or not. */
  prune_is("my::pool<int, std::allocator<int> >::get()",
           "my::pool<int, std::allocator<int>>::get()");
  /* Library helpers: their argument lists become <…>; the return type of
   * a function template goes. */
  prune_is("void std::__insertion_sort<" NI ", " CMP ">(" NI ", " NI ", " CMP
           ")",
           "std::__insertion_sort<…>(__gnu_cxx::__normal_iterator<…>, "
           "__gnu_cxx::__normal_iterator<…>, "
           "__gnu_cxx::__ops::_Iter_comp_iter<…>)");
  prune_is("double work<1>(double)", "work<1>(double)");
  prune_is("unsigned long const& std::max<unsigned long>(unsigned long "
           "const&, unsigned long const&)",
           "std::max<unsigned long>(unsigned long const&, unsigned long "
           "const&)");
  /* Operators keep their brackets; conversion operators their words. */
  prune_is("bool std::operator< <int>(std::pair<int, int> const&, "
           "std::pair<int, int> const&)",
           "std::operator< <int>(std::pair<int, int> const&, std::pair<int, "
           "int> const&)");
  prune_is("Foo::operator bool() const", "Foo::operator bool() const");
  prune_is("Foo::operator()(int) const", "Foo::operator()(int) const");
  prune_is("std::ostream& operator<< <int>(std::basic_ostream<char, "
           "std::char_traits<char> >&, Foo<int> const&)",
           "operator<< <int>(std::ostream&, Foo<int> const&)");
  prune_is("outer::run(unsigned long)::{lambda(int)#1}::operator()(int) "
           "const",
           "outer::run(unsigned long)::{lambda(int)#1}::operator()(int) "
           "const");
  prune_is("(anonymous namespace)::worker(" S ")",
           "(anonymous namespace)::worker(std::string)");
  prune_is("void (anonymous namespace)::tpl<int>(int)",
           "(anonymous namespace)::tpl<int>(int)");
  prune_is("std::__cxx11::list<int, std::allocator<int> >::size() const",
           "std::list<int>::size() const");
  prune_is("name[abi:cxx11]()", "name()");
  prune_is("std::__1::basic_string<char, std::__1::char_traits<char>, "
           "std::__1::allocator<char> >::size() const",
           "std::string::size() const");
  /* Long lists nested in another list are shortened. */
  prune_is("q(std::vector<std::pair<int, int>, std::allocator<std::pair<int, "
           "int> > >)",
           "q(std::vector<std::pair<int, int>>)");
  prune_is("k(my::a<my::b<int, int, int, int, int, int, int, int, int, int, "
           "int, int, int, int, int> >)",
           "k(my::a<my::b<…>>)");
  /* Unbalanced text is printed as is. */
  prune_is("broken<int(", "broken<int(");
  prune_is("", "");
}

static void test_has_params(void)
{
  CHECK(fs_name_has_params("run_batch()"));
  CHECK(fs_name_has_params("f(int) const"));
  CHECK(fs_name_has_params("f(int) const &&"));
  CHECK(fs_name_has_params("foo(int) [clone .isra.0]"));
  CHECK(fs_name_has_params("foo(int) [clone .isra.0] [clone .cold]"));
  CHECK(fs_name_has_params("X::operator()(int)"));
  CHECK(!fs_name_has_params("main"));
  CHECK(!fs_name_has_params("foo.isra.0"));
  CHECK(!fs_name_has_params("operator()"));
  CHECK(!fs_name_has_params("(anonymous namespace)::foo"));
  CHECK(!fs_name_has_params(NULL));
}

static faststack_frame frame(const char *fn, const char *file, int line,
                             int inlined, const char *module)
{
  faststack_frame f;
  memset(&f, 0, sizeof f);
  f.function = fn;
  f.file = file;
  f.line = line;
  f.inlined = inlined;
  f.module = module;
  f.pc = 0x401000;
  f.function_offset = inlined ? 0 : 0x10;
  return f;
}

static void test_go_and_gin(void)
{
  faststack_frame fr[4] = {
      frame("std::terminate()", "/src/libstdc++/eh_terminate.cc", 58, 0,
            "/usr/lib/libstdc++.so.6"),
      frame("lambda_body(" S ")", "/src/app/run.cc", 12, 1, "/bin/app"),
      frame("run_batch()", "/src/app/run.cc", 20, 0, "/bin/app"),
      frame("main", "/src/app/main.c", 5, 0, "/bin/app"),
  };
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.header = "";
  o.color = 0;
  char buf[4096];
  faststack_format_frames(fr, 4, NULL, 0, &o, buf, sizeof buf);
  CHECK_STREQ(buf, "std::terminate()\n"
                   "\t/src/libstdc++/eh_terminate.cc:58 +0x10\n"
                   "lambda_body(std::string) (inlined)\n"
                   "\t/src/app/run.cc:12\n"
                   "run_batch()\n"
                   "\t/src/app/run.cc:20 +0x10\n"
                   "main(...)\n"
                   "\t/src/app/main.c:5 +0x10\n");
  /* Full names on request. */
  o.names = FASTSTACK_NAMES_FULL;
  faststack_format_frames(fr + 1, 1, NULL, 0, &o, buf, sizeof buf);
  CHECK_STREQ(buf, "lambda_body(" S ") (inlined)\n\t/src/app/run.cc:12\n");
  o.names = FASTSTACK_NAMES_DEFAULT;
  /* Filters: a module by its base name, functions by prefix; paths
   * relative to a root, or base names. */
  o.hide_modules = "libstdc++";
  o.hide_functions = "lambda_,nothing";
  o.paths = FASTSTACK_PATHS_RELATIVE;
  o.path_root = "/src/app/";
  faststack_format_frames(fr, 4, NULL, 0, &o, buf, sizeof buf);
  CHECK_STREQ(buf, "run_batch()\n\trun.cc:20 +0x10\n"
                   "main(...)\n\tmain.c:5 +0x10\n");
  o.hide_modules = "/bin/app";
  o.hide_functions = NULL;
  o.paths = FASTSTACK_PATHS_BASE;
  faststack_format_frames(fr, 4, NULL, 0, &o, buf, sizeof buf);
  CHECK_STREQ(buf, "std::terminate()\n\teh_terminate.cc:58 +0x10\n");
  /* "libc" is not "libcrypto": a name matches up to a '.'. */
  o.hide_modules = "libstdc";
  faststack_format_frames(fr, 1, NULL, 0, &o, buf, sizeof buf);
  CHECK_STREQ(buf, "std::terminate()\n\teh_terminate.cc:58 +0x10\n");
  /* gin marks inlined calls like Go. */
  faststack_format_options g;
  faststack_format_options_init(&g, FASTSTACK_FORMAT_GIN);
  g.color = 0;
  faststack_format_frames(fr + 1, 2, NULL, 0, &g, buf, sizeof buf);
  CHECK_STREQ(buf, "/src/app/run.cc:12 (0x401000)\n"
                   "\tlambda_body(std::string) (inlined): ???\n"
                   "/src/app/run.cc:20 (0x401000)\n"
                   "\trun_batch(): ???\n");
  /* JSON keeps the exact name and path, and counts what it hid. */
  faststack_format_options j;
  faststack_format_options_init(&j, FASTSTACK_FORMAT_JSON);
  j.hide_functions = "std::";
  j.paths = FASTSTACK_PATHS_BASE;
  faststack_format_frames(fr, 2, NULL, 0, &j, buf, sizeof buf);
  CHECK(strstr(buf, "\"function\":\"lambda_body(" S ")\"") != NULL);
  CHECK(strstr(buf, "\"file\":\"/src/app/run.cc\"") != NULL);
  CHECK(strstr(buf, "\"hidden\":1}") != NULL);
  CHECK(strstr(buf, "terminate") == NULL);
}

/* The environment gives the defaults. */
static void test_env(void)
{
  setenv("FASTSTACK_NAMES", "full", 1);
  setenv("FASTSTACK_PATHS", "relative", 1);
  setenv("FASTSTACK_PATH_ROOT", "/src", 1);
  setenv("FASTSTACK_HIDE_MODULES", "libstdc++", 1);
  setenv("FASTSTACK_HIDE_FUNCTIONS", "std::__", 1);
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  CHECK_EQ(o.names, FASTSTACK_NAMES_FULL);
  CHECK_EQ(o.paths, FASTSTACK_PATHS_RELATIVE);
  CHECK_STREQ(o.path_root, "/src");
  CHECK_STREQ(o.hide_modules, "libstdc++");
  CHECK_STREQ(o.hide_functions, "std::__");
  unsetenv("FASTSTACK_NAMES");
  unsetenv("FASTSTACK_PATHS");
  unsetenv("FASTSTACK_PATH_ROOT");
  unsetenv("FASTSTACK_HIDE_MODULES");
  unsetenv("FASTSTACK_HIDE_FUNCTIONS");
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  CHECK_EQ(o.names, FASTSTACK_NAMES_DEFAULT);
  CHECK(o.hide_modules == NULL && o.hide_functions == NULL);
}

int main(void)
{
  test_prune();
  test_has_params();
  test_go_and_gin();
  test_env();
  return CHECK_DONE("test_names");
}
