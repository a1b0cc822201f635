/* commands.h — the faststack command's subcommands. */
#ifndef FASTSTACK_COMMANDS_H
#define FASTSTACK_COMMANDS_H

typedef struct fs_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} fs_command;

int cmd_modules(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);

#endif
