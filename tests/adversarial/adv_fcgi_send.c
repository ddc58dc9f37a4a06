/*
 * adv_fcgi_send: write raw bytes to a FastCGI unix socket and report what
 * comes back, for the malformed-record tests (t0111).  The bytes are given
 * in hex so a test can build any record, legal or not, in shell.
 *
 *   adv_fcgi_send [-t TIMEOUT_MS] [-h HOLD_MS] [-n] SOCKET HEX...
 *
 * After sending, it waits HOLD_MS (default 0) with the connection open,
 * then shuts down its write side (unless -n) and reads until EOF or
 * TIMEOUT_MS (default 5000).  It prints one line:
 *   sent <n> reply <bytes> <eof|timeout|reset> ms <t> records <type:len,...> status <first Status: line or ->
 * Exit status 0 whenever the exchange ran (the test judges the result), 2
 * on usage errors, 3 if the socket cannot be reached.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append the hex digits of s (spaces ignored) to out; -1 on a bad digit. */
static int unhex(const char *s, unsigned char **out, size_t *len, size_t *cap)
{
	int hi = -1;

	for (; *s; s++) {
		int v;
		if (*s == ' ' || *s == '\n')
			continue;
		v = hexval((unsigned char)*s);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (*len == *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			unsigned char *n = realloc(*out, ncap);
			if (!n)
				return -1;
			*out = n;
			*cap = ncap;
		}
		(*out)[(*len)++] = (unsigned char)(hi * 16 + v);
		hi = -1;
	}
	return hi < 0 ? 0 : -1;
}

/* Describe the FastCGI records in the reply: type:contentLength list. */
static void describe(const unsigned char *r, size_t n)
{
	size_t off = 0;
	int first = 1, shown = 0;
	const char *status = NULL;
	size_t status_len = 0;

	printf(" records ");
	while (n - off >= 8 && shown < 12) {
		unsigned type = r[off + 1];
		size_t clen = (size_t)r[off + 4] << 8 | r[off + 5];
		size_t plen = r[off + 6];
		printf("%s%u:%zu", first ? "" : ",", type, clen);
		first = 0;
		shown++;
		if (type == 6 && !status && n - off - 8 >= clen) { /* STDOUT: find "Status: " */
			const unsigned char *c = r + off + 8;
			for (size_t i = 0; i + 8 <= clen; i++)
				if (!memcmp(c + i, "Status: ", 8)) {
					size_t j = i + 8;
					while (j < clen && c[j] != '\r' && c[j] != '\n')
						j++;
					status = (const char *)c + i + 8;
					status_len = j - i - 8;
					break;
				}
		}
		if (n - off - 8 < clen + plen)
			break;
		off += 8 + clen + plen;
	}
	if (first)
		printf("-");
	if (status)
		printf(" status %.*s\n", (int)status_len, status);
	else
		printf(" status -\n");
}

int main(int argc, char **argv)
{
	long timeout_ms = 5000, hold_ms = 0;
	int shut = 1, opt, fd;
	unsigned char *data = NULL, reply[1 << 16];
	size_t len = 0, cap = 0, got = 0, sent = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *end = "eof";
	long long t0;

	while ((opt = getopt(argc, argv, "t:h:n")) != -1) {
		if (opt == 't')
			timeout_ms = strtol(optarg, NULL, 10);
		else if (opt == 'h')
			hold_ms = strtol(optarg, NULL, 10);
		else if (opt == 'n')
			shut = 0;
		else
			return 2;
	}
	if (optind + 1 >= argc || strlen(argv[optind]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: adv_fcgi_send [-t TIMEOUT_MS] [-h HOLD_MS] [-n] SOCKET HEX...\n");
		return 2;
	}
	for (int i = optind + 1; i < argc; i++)
		if (unhex(argv[i], &data, &len, &cap) < 0) {
			fprintf(stderr, "adv_fcgi_send: bad hex in argument %d\n", i);
			return 2;
		}
	signal(SIGPIPE, SIG_IGN);
	memcpy(sa.sun_path, argv[optind], strlen(argv[optind]) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("adv_fcgi_send: connect");
		return 3;
	}
	t0 = now_ms();
	while (sent < len) {
		ssize_t w = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
		if (w <= 0)
			break; /* the peer may close early on garbage: that is a result too */
		sent += (size_t)w;
	}
	if (hold_ms > 0) {
		struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = timeout_ms - (long)(now_ms() - t0 - hold_ms);
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			end = "timeout";
			break;
		}
		if (got == sizeof(reply)) { /* keep the first 64 KiB, drain the rest */
			unsigned char sink[4096];
			r = recv(fd, sink, sizeof(sink), 0);
			if (r > 0)
				continue;
		} else {
			r = recv(fd, reply + got, sizeof(reply) - got, 0);
		}
		if (r == 0)
			break;
		if (r < 0) {
			end = errno == ECONNRESET ? "reset" : "error";
			break;
		}
		got += (size_t)r;
	}
	printf("sent %zu reply %zu %s ms %lld", sent, got, end, now_ms() - t0);
	describe(reply, got);
	close(fd);
	free(data);
	return 0;
}
