/* SPDX-License-Identifier: GPL-2.0 */
/* nestckptctl subcommands: each takes argc/argv from the subcommand name on. */
#ifndef NESTCKPTCTL_COMMANDS_H
#define NESTCKPTCTL_COMMANDS_H

#define EXIT_USAGE 2

int cmd_freeze(int argc, char **argv);
int cmd_thaw(int argc, char **argv);
int cmd_status(int argc, char **argv);

#endif
