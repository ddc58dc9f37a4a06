/*
 * Fuzz fa_request_read (fcgi-app/fa_fcgi.h): a whole FastCGI connection
 * (records of any type, ids, lengths and padding) read from a socket, the
 * way a handler reads what nginx, or anything that reaches the socket,
 * sends.
 *
 * The input goes through a socketpair: a feeder thread writes it to the
 * other end and half-closes it, and meanwhile drains what the reader sends
 * back (GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST), so neither side can
 * block the other whatever the records ask for.  The reader therefore
 * always gets the whole input followed by EOF: the run is deterministic,
 * and io_timeout_ms only bounds a run if something is badly wrong.  When
 * a request was read, a response echoing the body is written (the path a
 * handler takes next) before the connection is closed.
 *
 * Checked besides memory safety: a request that was read has a non-zero
 * id, a body within max_body (empty when body_too_large), at most
 * max_params params with NUL-free names.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fa_fcgi.h"
#include "fuzz.h"
#include "banned.h"

struct feeder {
	int fd;
	const uint8_t *p;
	size_t n;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void *feed(void *arg)
{
	struct feeder *f = arg;
	size_t off = 0;
	int wr_open = 1;
	char sink[4096];

	for (;;) {
		struct pollfd pfd = { f->fd, POLLIN, 0 };
		ssize_t k;

		if (off == f->n && wr_open) {
			shutdown(f->fd, SHUT_WR);
			wr_open = 0;
		}
		if (wr_open)
			pfd.events |= POLLOUT;
		/* The reader never stalls for long: 10 s means a hang, stop. */
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		if (pfd.revents & POLLOUT) {
			k = send(f->fd, f->p + off, f->n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (k > 0)
				off += (size_t)k;
			else if (k < 0 && errno != EAGAIN && errno != EINTR)
				wr_open = 0; /* the reader closed: just drain */
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			k = recv(f->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
				break;
		}
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char head[] = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
	const struct fa_limits lim = { 4096, 32, 2048, 2000 };
	struct feeder f;
	struct fa_request r;
	pthread_t th;
	int sv[2];

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	f.fd = sv[1];
	f.p = data;
	f.n = size;
	FUZZ_CHECK(pthread_create(&th, NULL, feed, &f) == 0);

	fa_request_init(&r, sv[0]);
	if (fa_request_read(&r, &lim) == 0) {
		FUZZ_CHECK(r.id != 0);
		FUZZ_CHECK(r.body.len <= lim.max_body);
		FUZZ_CHECK(!r.body_too_large || r.body.len == 0);
		FUZZ_CHECK(r.nparams <= lim.max_params);
		for (size_t i = 0; i < r.nparams; i++) {
			FUZZ_CHECK(strlen(r.params[i].name) == r.params[i].name_len);
			FUZZ_CHECK(r.params[i].value[r.params[i].value_len] == '\0');
		}
		/* The peer may be gone already (it only ever drains): both results are fine. */
		(void)fa_response_write(&r, head, sizeof(head) - 1, r.body.data, r.body.len,
					lim.io_timeout_ms);
	}
	fa_request_release(&r);
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	return 0;
}
