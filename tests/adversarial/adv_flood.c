/*
 * adv_flood: a closed-loop HTTP load generator for the flood test (t0113).
 * CONC threads each POST BODY to PATH, one request per connection
 * (Connection: close), as fast as answers come, for SECONDS; every request
 * has a 30 s timeout.  Loopback only by construction (HOST must be
 * 127.x.x.x).
 *
 *   adv_flood HOST PORT PATH BODY CONC SECONDS
 *
 * Prints one line per HTTP status (and "000" for connect errors, resets
 * and timeouts):
 *   status <code> count <n> p50_ms <a> p99_ms <b> max_ms <c>
 * and a last line "total <n> seconds <s>".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define MAX_SAMPLES 2000000

static struct sockaddr_in to = { .sin_family = AF_INET };
static char request[1 << 16];
static size_t request_len;
static long long stop_at;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int *codes;
static int *lat_ms;
static long nsamples;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request: returns the HTTP status, 0 on any transport failure. */
static int one_request(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	size_t sent = 0, got = 0;
	char head[32];
	long long deadline = now_ms() + 30000;

	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		goto out;
	while (sent < request_len) {
		ssize_t w = send(fd, request + sent, request_len - sent, MSG_NOSIGNAL);
		if (w <= 0)
			goto out;
		sent += (size_t)w;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		char b[8192];
		ssize_t r;
		long long left = deadline - now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			goto out; /* timeout: counted as 0 */
		r = recv(fd, b, sizeof(b), 0);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r && got < sizeof(head) - 1; i++)
			head[got++] = b[i];
	}
	head[got] = '\0';
	if (got >= 12 && !strncmp(head, "HTTP/1.", 7))
		status = (int)strtol(head + 9, NULL, 10);
out:
	close(fd);
	return status;
}

static void *worker(void *arg)
{
	(void)arg;
	while (now_ms() < stop_at) {
		long long t = now_ms();
		int s = one_request();
		int ms = (int)(now_ms() - t);

		pthread_mutex_lock(&mu);
		if (nsamples < MAX_SAMPLES) {
			codes[nsamples] = s;
			lat_ms[nsamples] = ms;
			nsamples++;
		}
		pthread_mutex_unlock(&mu);
		if (!s) {
			struct timespec ts = { 0, 10 * 1000000L }; /* do not spin on a refused port */
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int main(int argc, char **argv)
{
	long conc, secs;
	pthread_t *th;
	long long t0;
	int *tmp;

	if (argc != 7) {
		fprintf(stderr, "usage: adv_flood HOST PORT PATH BODY CONC SECONDS\n");
		return 2;
	}
	conc = strtol(argv[5], NULL, 10);
	secs = strtol(argv[6], NULL, 10);
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || strncmp(argv[1], "127.", 4) ||
	    conc < 1 || conc > 1000 || secs < 1 || secs > 600) {
		fprintf(stderr, "adv_flood: loopback host, 1..1000 threads, 1..600 s\n");
		return 2;
	}
	to.sin_port = htons((unsigned short)strtoul(argv[2], NULL, 10));
	request_len = (size_t)snprintf(request, sizeof(request),
				       "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
				       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				       argv[3], strlen(argv[4]), argv[4]);
	if (request_len >= sizeof(request))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	codes = calloc(MAX_SAMPLES, sizeof(int));
	lat_ms = calloc(MAX_SAMPLES, sizeof(int));
	tmp = calloc(MAX_SAMPLES, sizeof(int));
	th = calloc((size_t)conc, sizeof(*th));
	if (!codes || !lat_ms || !tmp || !th)
		return 1;
	t0 = now_ms();
	stop_at = t0 + secs * 1000;
	for (long i = 0; i < conc; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			return 1;
	for (long i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	for (int code = 0; code < 600; code++) {
		long k = 0;
		for (long i = 0; i < nsamples; i++)
			if (codes[i] == code)
				tmp[k++] = lat_ms[i];
		if (!k)
			continue;
		qsort(tmp, (size_t)k, sizeof(int), cmp_int);
		printf("status %03d count %ld p50_ms %d p99_ms %d max_ms %d\n", code, k, tmp[k / 2],
		       tmp[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1], tmp[k - 1]);
	}
	printf("total %ld seconds %.1f\n", nsamples, (double)(now_ms() - t0) / 1000.0);
	free(codes);
	free(lat_ms);
	free(tmp);
	free(th);
	return 0;
}
