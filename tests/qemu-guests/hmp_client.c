// SPDX-License-Identifier: GPL-2.0
/* nc-hmp SOCKET COMMAND: send one command to a QEMU human monitor on a
 * unix socket (-monitor unix:SOCKET,server=on,wait=off) and print its answer.
 * The guest's busybox nc has no unix sockets. Exits 0 when QEMU answered
 * with a new prompt, 1 otherwise (no socket, no answer within 10 s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PROMPT "(qemu) "

/* Read into buf until it ends with the monitor prompt; returns the length. */
static size_t read_to_prompt(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += n;
		buf[len] = 0;
		if (len >= strlen(PROMPT) && !strcmp(buf + len - strlen(PROMPT), PROMPT))
			return len;
	}
	buf[len] = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[65536];
	size_t len, i, j;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: nc-hmp SOCKET COMMAND\n");
		return 2;
	}
	alarm(10);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(argv[1]);
		return 1;
	}
	if (!read_to_prompt(fd, buf, sizeof(buf))) {
		fprintf(stderr, "nc-hmp: no monitor prompt: %s\n", buf);
		return 1;
	}
	if (dprintf(fd, "%s\n", argv[2]) < 0) {
		perror("nc-hmp: write");
		return 1;
	}
	len = read_to_prompt(fd, buf, sizeof(buf));
	if (!len) {
		fprintf(stderr, "nc-hmp: no answer: %s\n", buf);
		return 1;
	}
	/* The answer without the echoed command (and its terminal escapes),
	 * carriage returns or the final prompt. */
	len -= strlen(PROMPT);
	buf[len] = 0;
	i = 0;
	if (strstr(buf, "\r\n"))
		i = strstr(buf, "\r\n") - buf + 2;
	for (j = i; j < len; j++)
		if (buf[j] != '\r')
			putchar(buf[j]);
	return 0;
}
