/* corpus_main.c — a program around the benchmark corpus alone: the input
 * bench_symbolize's debug-information section makes variants of (dwz,
 * split DWARF in a .dwp). */
extern int (*const corpus_fns[])(int);
extern const int corpus_count;

int main(int argc, char **argv)
{
  (void)argv;
  return corpus_fns[argc % corpus_count](argc);
}
