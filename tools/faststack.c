/* faststack.c — the command-line tool's entry point. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "faststack.h"

static const fs_command commands[] = {
    {"modules", "list the modules faststack sees loaded in a process (itself)",
     cmd_modules},
    {"profile",
     "run a program under the sampling CPU profiler (pprof or "
     "folded output)",
     cmd_profile},
    {"run",
     "run a program with the crash handler preloaded (tracebacks "
     "on fatal signals)",
     cmd_run},
    {"symbolize",
     "addresses or raw traces to functions, files and lines "
     "(addr2line-compatible; --json, --source, --format)",
     cmd_symbolize},
};

static void usage(FILE *f)
{
  fprintf(f, "usage: faststack COMMAND [ARGS...]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n  faststack help COMMAND     that command's options\n"
             "  faststack --version | --help\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
    printf("%s\n", faststack_version());
    return 0;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      (!strcmp(argv[1], "help") && argc == 2)) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "help")) { /* faststack help CMD = CMD --help */
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
      if (!strcmp(argv[2], commands[i].name)) {
        char *help[] = {argv[2], "--help", NULL};
        return commands[i].run(2, help);
      }
    fprintf(stderr, "faststack help: unknown command '%s'\n\n", argv[2]);
    usage(stderr);
    return 2;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "faststack: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
