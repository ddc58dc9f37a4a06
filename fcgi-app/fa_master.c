#include "fa_master.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "eth_hex.h"
#include "eth_key.h"
#include "fa_handler.h"
#include "fa_stats.h"
#include "log.h"
#include "sandbox.h"
#include "sb_conf.h"
#include "version.h"
#include "banned.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 5000

struct child {
	pid_t pid;
	int exec;            /* 1 = slot handler, 0 = control handler */
	unsigned slot;
	int wanted;          /* keep this handler running */
	int retiring;        /* told to stop for a reload; respawn when gone */
	unsigned fails;      /* quick deaths in a row */
	uint64_t started_ms;
	uint64_t respawn_at; /* 0 = not scheduled */
};

struct master {
	const char *config_path;
	struct eth_key enclave;
	struct conf *conf;     /* the config handlers are started with */
	struct fa_stats *stats;
	int exec_fd, ctl_fd;
	int sfd;
	struct child *kids;    /* FA_MAX_SLOTS exec children + 1 control */
	size_t nkids;
	int stopping;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_on(const char *path, const char *group)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_err("socket path too long: %s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errno("socket");
	if (unlink(path) < 0 && errno != ENOENT) {
		close(fd);
		return log_errno("unlink stale socket %s", path);
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return log_errno("bind %s", path);
	}
	if (group[0]) {
		struct group *g = getgrnam(group);
		if (!g || chown(path, (uid_t)-1, g->gr_gid) < 0) {
			close(fd);
			return log_err("cannot give %s to group '%s'", path, group);
		}
	}
	if (chmod(path, group[0] ? 0660 : 0600) < 0 || listen(fd, 4096) < 0) {
		close(fd);
		return log_errno("listen %s", path);
	}
	return fd;
}

static int mkdirs(const char *path)
{
	char tmp[CONF_STR_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
				return log_errno("mkdir %s", tmp);
			*p = '/';
		}
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return log_errno("mkdir %s", tmp);
	return 0;
}

static void spawn(struct master *m, struct child *k)
{
	struct fa_handler_args a = {
		.conf = m->conf,
		.listen_fd = k->exec ? m->exec_fd : m->ctl_fd,
		.exec = k->exec,
		.slot = k->slot,
		.stats = m->stats,
		.enclave = &m->enclave,
	};
	sigset_t none;
	pid_t pid = fork();

	if (pid < 0) {
		log_errno("fork handler");
		k->respawn_at = mono_ms() + BACKOFF_MIN_MS;
		return;
	}
	if (pid == 0) {
		close(m->sfd);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (k->exec)
			close(m->ctl_fd);
		else
			close(m->exec_fd);
		_exit(fa_handler_main(&a));
	}
	k->pid = pid;
	k->started_ms = mono_ms();
	k->respawn_at = 0;
	k->retiring = 0;
}

static void set_wanted(struct master *m)
{
	for (size_t i = 0; i < m->nkids; i++) {
		struct child *k = &m->kids[i];
		k->wanted = k->exec ? k->slot < (unsigned)m->conf->handlers : 1;
	}
	m->stats->nslots = (uint32_t)m->conf->handlers;
}

static void reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < m->nkids; i++) {
			struct child *k = &m->kids[i];
			uint64_t now = mono_ms(), lived;

			if (k->pid != pid)
				continue;
			k->pid = 0;
			lived = now - k->started_ms;
			if (m->stopping || !k->wanted)
				break;
			if (k->retiring) {
				spawn(m, k); /* reload: the new handler takes the slot at once */
				break;
			}
			fa_stats_add(&m->stats->handler_restarts, 1);
			k->fails = lived < STABLE_MS ? k->fails + 1 : 0;
			if (k->fails) {
				uint64_t d = BACKOFF_MIN_MS;
				for (unsigned f = 1; f < k->fails && d < BACKOFF_MAX_MS; f++)
					d *= 2;
				if (d > BACKOFF_MAX_MS)
					d = BACKOFF_MAX_MS;
				k->respawn_at = now + d;
			} else {
				k->respawn_at = now;
			}
			if (WIFSIGNALED(status))
				log_msg(LOG_WARN, "%s handler %u (pid %d) killed by signal %d; restarting in %llu ms",
					k->exec ? "slot" : "control", k->slot, (int)pid, WTERMSIG(status),
					(unsigned long long)(k->respawn_at - now));
			else
				log_msg(LOG_WARN, "%s handler %u (pid %d) exited with status %d; restarting in %llu ms",
					k->exec ? "slot" : "control", k->slot, (int)pid, WEXITSTATUS(status),
					(unsigned long long)(k->respawn_at - now));
			break;
		}
	}
}

static void reload(struct master *m)
{
	struct conf *next = malloc(sizeof(*next));

	if (!next)
		return;
	log_msg(LOG_INFO, "SIGHUP: re-reading %s", m->config_path ? m->config_path : "(defaults)");
	if (conf_load(next, m->config_path) < 0) {
		log_err("new configuration rejected; keeping the running one");
		free(next);
		return;
	}
	if (strcmp(next->fcgi_socket, m->conf->fcgi_socket) ||
	    strcmp(next->control_socket, m->conf->control_socket) ||
	    strcmp(next->instance, m->conf->instance) || strcmp(next->run_dir, m->conf->run_dir))
		log_msg(LOG_WARN, "socket paths, run_dir and instance only change on restart; keeping the old ones");
	snprintf(next->fcgi_socket, CONF_STR_MAX, "%s", m->conf->fcgi_socket);
	snprintf(next->control_socket, CONF_STR_MAX, "%s", m->conf->control_socket);
	snprintf(next->instance, CONF_STR_MAX, "%s", m->conf->instance);
	snprintf(next->run_dir, CONF_STR_MAX, "%s", m->conf->run_dir);
	if (next->handlers > FA_MAX_SLOTS)
		next->handlers = FA_MAX_SLOTS;
	*m->conf = *next; /* children fork from this copy from now on */
	free(next);
	{
		enum log_level lv;
		if (log_level_parse(m->conf->log_level, &lv) == 0)
			log_set_level(lv);
	}
	set_wanted(m);
	for (size_t i = 0; i < m->nkids; i++) {
		struct child *k = &m->kids[i];
		if (k->pid > 0) {
			k->retiring = k->wanted;
			kill(k->pid, SIGTERM);
		} else if (k->wanted && !k->respawn_at) {
			k->respawn_at = mono_ms();
			k->fails = 0;
		}
	}
}

static int running(const struct master *m)
{
	int n = 0;

	for (size_t i = 0; i < m->nkids; i++)
		n += m->kids[i].pid > 0;
	return n;
}

static void shutdown_children(struct master *m)
{
	uint64_t give_up = mono_ms() + (uint64_t)m->conf->deadline_ms + 5000;

	m->stopping = 1;
	for (size_t i = 0; i < m->nkids; i++)
		if (m->kids[i].pid > 0)
			kill(m->kids[i].pid, SIGTERM);
	while (running(m)) {
		struct pollfd p = { m->sfd, POLLIN, 0 };
		struct signalfd_siginfo si;
		uint64_t now = mono_ms();

		if (now >= give_up) {
			log_msg(LOG_WARN, "handlers still busy after the drain timeout; killing them");
			for (size_t i = 0; i < m->nkids; i++)
				if (m->kids[i].pid > 0)
					kill(m->kids[i].pid, SIGKILL);
			give_up = now + 5000;
		}
		if (poll(&p, 1, (int)(give_up - now)) > 0 &&
		    read(m->sfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
			break;
		reap(m);
	}
}

int fa_master_run(const char *config_path, struct conf *conf)
{
	struct master m = { .config_path = config_path, .conf = conf, .exec_fd = -1, .ctl_fd = -1,
			    .sfd = -1 };
	enum sb_cg_version cgv = 0;
	sigset_t mask;
	struct db db;
	char tree[CONF_STR_MAX + 16];
	int rc = 1;

	log_set_component("fcgi-master");
	if (access(conf->workerd_path, X_OK) < 0)
		return log_errno("workerd_path %s is not executable", conf->workerd_path);
	{
		struct buf err = BUF_INIT;
		char addr[ETH_HEX_STR_SIZE(20)];

		if (eth_key_load_file(conf->enclave_key_path, &m.enclave, &err) < 0) {
			log_err("enclave key: %s", buf_cstr(&err));
			buf_release(&err);
			return -1;
		}
		buf_release(&err);
		log_msg(LOG_INFO, "enclave address %s", eth_hex_str(addr, sizeof(addr), m.enclave.addr, 20));
	}
	if (sb_global_init((int)conf->cgroups, &cgv) < 0)
		return log_err("cgroups are not usable on this host; refusing to run user code without limits "
			       "(set 'cgroups = off' to run anyway, unsafe)");
	if (mkdirs(conf->run_dir) < 0 || sb_jail_preflight(conf) < 0)
		return -1;
	/* Create or migrate the schema once, before any handler opens the file. */
	if (db_open(&db, conf->db_path) < 0)
		return -1;
	db_close(&db);
	if (conf->handlers > FA_MAX_SLOTS)
		conf->handlers = FA_MAX_SLOTS;

	m.stats = fa_stats_create();
	m.kids = calloc(FA_MAX_SLOTS + 1, sizeof(*m.kids));
	if (!m.stats || !m.kids)
		goto out;
	m.stats->cgroup_version = conf->cgroups ? (uint32_t)cgv : 0;
	m.nkids = FA_MAX_SLOTS + 1;
	for (unsigned i = 0; i < FA_MAX_SLOTS; i++) {
		m.kids[i].exec = 1;
		m.kids[i].slot = i;
	}
	m.kids[FA_MAX_SLOTS].exec = 0;
	set_wanted(&m);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sfd < 0) {
		log_errno("signalfd");
		goto out;
	}
	m.exec_fd = listen_on(conf->fcgi_socket, conf->socket_group);
	m.ctl_fd = listen_on(conf->control_socket, conf->socket_group);
	if (m.exec_fd < 0 || m.ctl_fd < 0)
		goto out;
	for (size_t i = 0; i < m.nkids; i++)
		if (m.kids[i].wanted)
			spawn(&m, &m.kids[i]);
	log_msg(LOG_INFO, "oyster-fcgi %s ready: %lld slot handlers on %s, control on %s, cgroups %s",
		OYSTER_VERSION, (long long)conf->handlers, conf->fcgi_socket, conf->control_socket,
		conf->cgroups ? (cgv == 2 ? "v2" : "v1") : "off");

	for (;;) {
		struct pollfd p = { m.sfd, POLLIN, 0 };
		struct signalfd_siginfo si;
		uint64_t now = mono_ms(), next = 0;
		int timeout = -1;

		for (size_t i = 0; i < m.nkids; i++) {
			struct child *k = &m.kids[i];
			if (k->wanted && !k->pid && k->respawn_at) {
				if (k->respawn_at <= now)
					spawn(&m, k);
				else if (!next || k->respawn_at < next)
					next = k->respawn_at;
			}
		}
		if (next)
			timeout = (int)(next - now);
		if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
			log_errno("poll");
			break;
		}
		while (read(m.sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap(&m);
			else if (si.ssi_signo == SIGHUP)
				reload(&m);
			else
				goto drain;
		}
	}
drain:
	log_msg(LOG_INFO, "stopping: draining in-flight requests");
	close(m.exec_fd);
	close(m.ctl_fd);
	m.exec_fd = m.ctl_fd = -1;
	unlink(conf->fcgi_socket);
	unlink(conf->control_socket);
	shutdown_children(&m);
	rc = 0;
out:
	if (m.exec_fd >= 0 || m.ctl_fd >= 0) {
		shutdown_children(&m);
		if (m.exec_fd >= 0)
			close(m.exec_fd);
		if (m.ctl_fd >= 0)
			close(m.ctl_fd);
	}
	if (conf->cgroups) {
		/* Our slot<i> groups only: the chain watcher's job<i> may be running. */
		snprintf(tree, sizeof(tree), "oyster/%s", conf->instance);
		sb_cg_remove_kind(tree, "slot");
	}
	if (m.sfd >= 0)
		close(m.sfd);
	free(m.kids);
	eth_key_wipe(&m.enclave);
	log_msg(LOG_INFO, "stopped");
	return rc ? -1 : 0;
}
