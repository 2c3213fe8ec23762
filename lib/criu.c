// SPDX-License-Identifier: GPL-2.0
/* CRIU: version detection and where it loads plugins from. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libnestckpt.h"

extern char **environ;

int nc_parse_criu_version(const char *text, struct nc_version *v)
{
	static const char key[] = "Version:";
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');

		if (!strncmp(line, key, sizeof(key) - 1)) {
			const char *p = line + sizeof(key) - 1;

			p += strspn(p, " \t");
			return nc_parse_version(p, v);
		}
		line = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

bool nc_criu_version_ok(const struct nc_version *v)
{
	const struct nc_version min = { NC_CRIU_MIN_MAJOR, NC_CRIU_MIN_MINOR, 0 };

	return nc_version_cmp(v, &min) >= 0;
}

int nc_criu_version(struct nc_version *v)
{
	const char *criu = getenv("NESTCKPT_CRIU");
	char *argv[3];
	char out[1024];
	posix_spawn_file_actions_t fa;
	size_t len = 0;
	int pipefd[2], status, ret;
	pid_t pid;

	if (!criu || !*criu)
		criu = "criu";
	argv[0] = (char *)criu;
	argv[1] = "--version";
	argv[2] = NULL;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	ret = posix_spawnp(&pid, criu, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (ret) {
		close(pipefd[0]);
		return -ret;
	}
	for (;;) {
		ssize_t n = read(pipefd[0], out + len, sizeof(out) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (len == sizeof(out) - 1)
			break;
	}
	out[len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	/* posix_spawnp reports a missing binary as exit status 127. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return nc_parse_criu_version(out, v);
}

int nc_plugin_path(const char *libdir_env, char *buf, size_t size)
{
	const char *dir = libdir_env && *libdir_env ? libdir_env : NC_CRIU_DEFAULT_LIBDIR;
	int n = snprintf(buf, size, "%s/%s", dir, NC_PLUGIN_NAME);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}
