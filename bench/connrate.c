/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * connrate: new TCP connections per second, for bench/flatness.sh.
 *
 *   connrate serve -p PORT [-a ADDR] [-T SECONDS]
 *       Accepts connections; on each, writes one byte and closes (the
 *       server closes first). Exits by itself after SECONDS (default 600).
 *
 *   connrate client -d ADDR -p PORT [-t SECONDS] [-n COUNT] [-b SRCADDR]
 *                   [-s FIRST-LAST] [-w TIMEOUT_MS]
 *       One connection after the other: connect, read the one byte, close
 *       with SO_LINGER 0 (an RST: no TIME_WAIT socket on either side, and
 *       conntrack moves the entry to CLOSE). Each connection binds the next
 *       source port of FIRST-LAST (default 1024-65023), so no 4-tuple is
 *       used twice in a run. Stops after SECONDS (default 5) or COUNT
 *       connections (default 60000), whichever comes first, or after too
 *       many failures. Prints one line:
 *           connections=N failures=F seconds=S rate=R
 *
 * IPv4 only: the benchmark's addresses are TEST-NET and RFC 2544 ones in its
 * own network namespaces.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FAILURES 100

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: connrate serve -p PORT [-a ADDR] [-T SECONDS]\n"
			"       connrate client -d ADDR -p PORT [-t SECONDS] [-n COUNT] [-b SRCADDR] [-s FIRST-LAST] "
			"[-w TIMEOUT_MS]\n");
	exit(2);
}

static bool parse_addr(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "connrate: '%s' is not an IPv4 address\n", s);
		return false;
	}
	return true;
}

static int serve(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	unsigned max_seconds = 600;
	int port = 0, fd, one = 1, opt;
	double end;

	while ((opt = getopt(argc, argv, "p:a:T:")) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'a':
			if (!parse_addr(optarg, &sa.sin_addr))
				return 2;
			break;
		case 'T':
			max_seconds = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || port > 65535 || max_seconds == 0)
		usage();
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		perror("connrate serve");
		return 1;
	}
	/* Bounded: the server ends by itself even if nobody stops it. */
	alarm(max_seconds);
	end = now() + max_seconds;
	printf("listening on port %d\n", port);
	fflush(stdout);
	while (now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* One byte, then the server closes first. */
		if (write(c, "x", 1) < 0) {
			/* the client went away: nothing to do */
		}
		close(c);
	}
	return 0;
}

/* One connection; true when the byte came back. */
static bool one_connection(const struct sockaddr_in *dst, const struct sockaddr_in *src, int timeout_ms)
{
	struct linger lg = { 1, 0 };
	int fd, one = 1, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p;
	char b;
	bool ok = false;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0)
		goto out;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS)
		goto out;
	p = (struct pollfd){ fd, POLLOUT, 0 };
	if (poll(&p, 1, timeout_ms) <= 0)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
		goto out;
	p = (struct pollfd){ fd, POLLIN, 0 };
	if (poll(&p, 1, timeout_ms) <= 0)
		goto out;
	ok = read(fd, &b, 1) == 1;
out:
	/* Abort: an RST instead of a FIN, so no TIME_WAIT is left behind. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return ok;
}

static int client(int argc, char **argv)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, src = { .sin_family = AF_INET };
	bool have_dst = false;
	double seconds = 5, start, elapsed;
	unsigned long count = 60000, done = 0, failures = 0;
	int port = 0, first = 1024, last = 65023, next, timeout_ms = 1000, opt;

	while ((opt = getopt(argc, argv, "d:p:t:n:b:s:w:")) != -1) {
		switch (opt) {
		case 'd':
			if (!parse_addr(optarg, &dst.sin_addr))
				return 2;
			have_dst = true;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			if (!parse_addr(optarg, &src.sin_addr))
				return 2;
			break;
		case 's':
			if (sscanf(optarg, "%d-%d", &first, &last) != 2)
				usage();
			break;
		case 'w':
			timeout_ms = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (!have_dst || port <= 0 || port > 65535 || seconds <= 0 || seconds > 600 || count == 0 || first < 1 ||
	    last > 65535 || first > last || timeout_ms <= 0)
		usage();
	/* Never more connections than source ports: no 4-tuple twice. */
	if (count > (unsigned long)(last - first + 1))
		count = (unsigned long)(last - first + 1);
	dst.sin_port = htons((uint16_t)port);
	next = first;
	start = now();
	while (done < count && (elapsed = now() - start) < seconds) {
		src.sin_port = htons((uint16_t)next);
		next = next == last ? first : next + 1;
		if (one_connection(&dst, &src, timeout_ms)) {
			done++;
		} else if (++failures >= MAX_FAILURES) {
			fprintf(stderr, "connrate: %lu failures, giving up\n", failures);
			break;
		}
	}
	elapsed = now() - start;
	printf("connections=%lu failures=%lu seconds=%.3f rate=%.1f\n", done, failures, elapsed,
	       elapsed > 0 ? (double)done / elapsed : 0.0);
	return failures >= MAX_FAILURES || done == 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "client") == 0)
		return client(argc - 1, argv + 1);
	usage();
	return 2;
}
