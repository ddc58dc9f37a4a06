/*
 * adv_rpc_proxy: a hostile (or merely slow) JSON-RPC endpoint on loopback,
 * for t0112 (hostile RPC answers) and t0117 (slow RPC).  It sits in front
 * of a real node (anvil) and, per request, either passes the call through
 * or answers it in a hostile way, as the first line of MODEFILE says at
 * that moment, so a test can switch behaviour while the node runs:
 *
 *   adv_rpc_proxy -u UPSTREAM_PORT -m MODEFILE [-l PORT] [-P PORTFILE] [-L LOG]
 *
 * MODEFILE's first line: "MODE [ARG] [method=NAME]"; with method=NAME only
 * calls of that method get MODE, the others pass.  MODEs:
 *   pass            forward to 127.0.0.1:UPSTREAM_PORT
 *   delay MS        wait MS, then forward
 *   hang            accept, never answer (until the client goes, at most 120 s)
 *   close           close the connection without a word
 *   http500         HTTP 500 with a text body
 *   garbage         HTTP 200, body is not JSON
 *   truncated       Content-Length promises more than is sent, then close
 *   deep            {"result": [[[[... 100000 levels
 *   dupkeys         the reply's "result" (and "id") appear twice
 *   hugenum         an id of 40 digits and a result of 0x + 5000 hex digits
 *   wrongtypes      id as a string, result an object of wrong things
 *   rpcerror        a JSON-RPC error with a 1 MB message
 *   huge MB         a well-formed reply of MB megabytes (default 100)
 *   endless         chunked reply that never ends (at most 60 s)
 * Each request adds "<unix_ms> <mode> <method>" to LOG.  One child process
 * per connection, one request per connection (Connection: close).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define MAX_BODY (16u << 20)
#define MAX_CHILDREN 64

static int upstream_port;
static const char *mode_file, *log_file;
static pid_t children[MAX_CHILDREN];
static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read an HTTP request: headers, then Content-Length bytes of body. */
static char *read_request(int fd, size_t *body_off, size_t *total)
{
	size_t cap = 65536, len = 0, need = 0;
	char *b = malloc(cap + 1), *end = NULL;

	if (!b)
		return NULL;
	for (;;) {
		ssize_t r;

		if (end && len >= need)
			break;
		if (len == cap) {
			char *nb;
			if (cap >= MAX_BODY)
				goto fail;
			cap *= 2;
			nb = realloc(b, cap + 1);
			if (!nb)
				goto fail;
			b = nb;
			end = NULL; /* re-find below */
		}
		r = recv(fd, b + len, cap - len, 0);
		if (r <= 0)
			goto fail;
		len += (size_t)r;
		b[len] = '\0';
		if (!end && (end = strstr(b, "\r\n\r\n"))) {
			char *cl = strcasestr(b, "\r\ncontent-length:");
			size_t hdr = (size_t)(end - b) + 4;
			need = hdr + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			if (need > MAX_BODY)
				goto fail;
			*body_off = hdr;
		}
	}
	*total = need;
	b[need] = '\0';
	return b;
fail:
	free(b);
	return NULL;
}

/* The raw JSON token after "key": in body (a string's quotes included). */
static void json_token(const char *body, const char *key, char *out, size_t n)
{
	char pat[32];
	const char *p;
	size_t i = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	out[0] = '\0';
	p = strstr(body, pat);
	if (!p)
		return;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	if (*p == '"') {
		out[i++] = *p++;
		while (*p && *p != '"' && i < n - 2)
			out[i++] = *p++;
		if (*p == '"')
			out[i++] = '"';
	} else {
		while (*p && *p != ',' && *p != '}' && *p != ' ' && i < n - 1)
			out[i++] = *p++;
	}
	out[i] = '\0';
}

static void send_reply(int fd, int code, const char *body, size_t n)
{
	char h[256];
	int hl = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			  "Connection: close\r\n\r\n", code, code == 200 ? "OK" : "Error", n);

	if (write_all(fd, h, (size_t)hl) == 0)
		write_all(fd, body, n);
}

static void forward(int cfd, const char *req, size_t body_off, size_t total)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)upstream_port) };
	char h[256], b[65536];
	int ufd = socket(AF_INET, SOCK_STREAM, 0), hl;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ufd < 0 || connect(ufd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (ufd >= 0)
			close(ufd);
		send_reply(cfd, 502, "upstream down", 13);
		return;
	}
	hl = snprintf(h, sizeof(h), "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
		      "Content-Length: %zu\r\nConnection: close\r\n\r\n", upstream_port, total - body_off);
	if (write_all(ufd, h, (size_t)hl) == 0 && write_all(ufd, req + body_off, total - body_off) == 0) {
		ssize_t r;
		while ((r = recv(ufd, b, sizeof(b), 0)) > 0)
			if (write_all(cfd, b, (size_t)r) < 0)
				break;
	}
	close(ufd);
}

/* Block until the client goes away, at most ms. */
static void wait_gone(int fd, long ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char b[512];

	while (ms > 0 && poll(&p, 1, 1000) >= 0) {
		if (p.revents && recv(fd, b, sizeof(b), MSG_DONTWAIT) == 0)
			return;
		ms -= 1000;
	}
}

static void handle(int fd)
{
	size_t off = 0, total = 0;
	char *req = read_request(fd, &off, &total), line[256] = "pass", mode[32] = "pass", filt[64] = "";
	char method[96], id[64], *big;
	long arg = 0;
	FILE *f;

	if (!req)
		return;
	json_token(req + off, "method", method, sizeof(method));
	json_token(req + off, "id", id, sizeof(id));
	if (!id[0])
		snprintf(id, sizeof(id), "1");
	if ((f = fopen(mode_file, "r"))) {
		if (!fgets(line, sizeof(line), f))
			snprintf(line, sizeof(line), "pass");
		fclose(f);
	}
	{
		char a1[64] = "", a2[64] = "";
		int k = sscanf(line, "%31s %63s %63s", mode, a1, a2);
		for (int i = 1; i < k; i++) {
			const char *a = i == 1 ? a1 : a2;
			if (!strncmp(a, "method=", 7))
				snprintf(filt, sizeof(filt), "\"%s\"", a + 7);
			else
				arg = strtol(a, NULL, 10);
		}
	}
	if (filt[0] && strcmp(filt, method))
		snprintf(mode, sizeof(mode), "pass");
	if (log_file) {
		int lfd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		struct timespec ts;
		char l[256];
		int n;

		clock_gettime(CLOCK_REALTIME, &ts);
		n = snprintf(l, sizeof(l), "%lld %s %s\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, mode,
			     method[0] ? method : "-");
		if (lfd >= 0) {
			if (write(lfd, l, (size_t)n) < 0)
				perror("log");
			close(lfd);
		}
	}

	if (!strcmp(mode, "pass")) {
		forward(fd, req, off, total);
	} else if (!strcmp(mode, "delay")) {
		sleep_ms(arg > 0 ? arg : 1000);
		forward(fd, req, off, total);
	} else if (!strcmp(mode, "hang")) {
		wait_gone(fd, 120000);
	} else if (!strcmp(mode, "close")) {
		/* nothing */
	} else if (!strcmp(mode, "http500")) {
		const char *t = "internal trouble";
		char h[160];
		int hl = snprintf(h, sizeof(h), "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n", strlen(t));
		if (write_all(fd, h, (size_t)hl) == 0)
			write_all(fd, t, strlen(t));
	} else if (!strcmp(mode, "garbage")) {
		const char *t = "<html><body>502 Bad Gateway</body></html>\x01\xff";
		send_reply(fd, 200, t, strlen(t));
	} else if (!strcmp(mode, "truncated")) {
		char h[160], t[128];
		int tl = snprintf(t, sizeof(t), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":\"0x12", id);
		int hl = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Content-Length: 1000\r\nConnection: close\r\n\r\n");
		if (write_all(fd, h, (size_t)hl) == 0)
			write_all(fd, t, (size_t)tl);
	} else if (!strcmp(mode, "deep") || !strcmp(mode, "rpcerror") || !strcmp(mode, "hugenum")) {
		size_t depth = 100000, n = 0, cap = 2 * depth + 2 * 1048576 + 256;
		big = malloc(cap);
		if (!big)
			_exit(1);
		if (!strcmp(mode, "deep")) {
			n += (size_t)snprintf(big, cap, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":", id);
			memset(big + n, '[', depth);
			n += depth;
			memset(big + n, ']', depth);
			n += depth;
			big[n++] = '}';
		} else if (!strcmp(mode, "rpcerror")) {
			n += (size_t)snprintf(big, cap, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32000,\"message\":\"", id);
			memset(big + n, 'E', 1048576);
			n += 1048576;
			n += (size_t)snprintf(big + n, cap - n, "\"}}");
		} else {
			n += (size_t)snprintf(big, cap, "{\"jsonrpc\":\"2.0\",\"id\":1234567890123456789012345678901234567890,"
					      "\"result\":\"0x");
			memset(big + n, 'f', 5000);
			n += 5000;
			n += (size_t)snprintf(big + n, cap - n, "\"}");
		}
		send_reply(fd, 200, big, n);
		free(big);
	} else if (!strcmp(mode, "dupkeys")) {
		char t[256];
		int tl = snprintf(t, sizeof(t), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":\"0x1\",\"id\":%s,\"result\":\"0x2\"}",
				  id, id);
		send_reply(fd, 200, t, (size_t)tl);
	} else if (!strcmp(mode, "wrongtypes")) {
		char t[256];
		int tl = snprintf(t, sizeof(t), "{\"jsonrpc\":2,\"id\":\"%s\",\"result\":{\"number\":[true,null,-1.5e308],"
				  "\"hash\":12}}", id);
		send_reply(fd, 200, t, (size_t)tl);
	} else if (!strcmp(mode, "huge")) {
		size_t mb = (size_t)(arg > 0 ? arg : 100), total_len, sent = 0;
		char h[200], pre[128], chunk[65536];
		int pl = snprintf(pre, sizeof(pre), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":\"0x", id), hl;

		total_len = (size_t)pl + mb * 1048576 + 2;
		hl = snprintf(h, sizeof(h), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
			      "Connection: close\r\n\r\n", total_len);
		memset(chunk, '0', sizeof(chunk));
		if (write_all(fd, h, (size_t)hl) == 0 && write_all(fd, pre, (size_t)pl) == 0) {
			while (sent < mb * 1048576 && write_all(fd, chunk, sizeof(chunk)) == 0)
				sent += sizeof(chunk);
			if (sent >= mb * 1048576)
				write_all(fd, "\"}", 2);
		}
	} else if (!strcmp(mode, "endless")) {
		const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
				"Connection: close\r\n\r\n";
		char chunk[8192 + 16];
		int cl = snprintf(chunk, sizeof(chunk), "2000\r\n");
		struct timespec t0, t1;

		memset(chunk + cl, '[', 8192);
		memcpy(chunk + cl + 8192, "\r\n", 2);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (write_all(fd, h, strlen(h)) == 0)
			for (;;) {
				if (write_all(fd, chunk, (size_t)cl + 8194) < 0)
					break;
				clock_gettime(CLOCK_MONOTONIC, &t1);
				if (t1.tv_sec - t0.tv_sec > 60)
					break;
			}
	} else {
		send_reply(fd, 500, "unknown proxy mode", 18);
	}
	free(req);
}

static void reap(void)
{
	pid_t p;

	while ((p = waitpid(-1, NULL, WNOHANG)) > 0)
		for (int i = 0; i < MAX_CHILDREN; i++)
			if (children[i] == p)
				children[i] = 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	const char *port_file = NULL;
	int opt, lfd, one = 1;
	long port = 0;
	struct sigaction act;

	while ((opt = getopt(argc, argv, "l:u:m:P:L:")) != -1) {
		switch (opt) {
		case 'l': port = strtol(optarg, NULL, 10); break;
		case 'u': upstream_port = (int)strtol(optarg, NULL, 10); break;
		case 'm': mode_file = optarg; break;
		case 'P': port_file = optarg; break;
		case 'L': log_file = optarg; break;
		default: return 2;
		}
	}
	if (!mode_file || upstream_port <= 0) {
		fprintf(stderr, "usage: adv_rpc_proxy -u UPSTREAM_PORT -m MODEFILE [-l PORT] [-P PORTFILE] [-L LOG]\n");
		return 2;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_term;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((unsigned short)port);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("adv_rpc_proxy: listen");
		return 1;
	}
	if (port_file) {
		FILE *f = fopen(port_file, "w");
		if (!f)
			return 1;
		fprintf(f, "%u\n", ntohs(sa.sin_port));
		fclose(f);
	}
	while (!stopping) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int free_slot = -1, cfd;
		pid_t pid;

		reap();
		for (int i = 0; i < MAX_CHILDREN; i++)
			if (!children[i]) {
				free_slot = i;
				break;
			}
		if (poll(&p, 1, free_slot < 0 ? 100 : 500) <= 0 || free_slot < 0)
			continue;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			signal(SIGTERM, SIG_DFL);
			close(lfd);
			alarm(180); /* no child outlives a test */
			handle(cfd);
			shutdown(cfd, SHUT_RDWR);
			close(cfd);
			_exit(0);
		}
		if (pid > 0)
			children[free_slot] = pid;
		close(cfd);
	}
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	return 0;
}
