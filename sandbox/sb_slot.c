/*
 * Slot lifecycle (directory, cgroup, the pool's warm workerd) and the
 * dispatch of a run to the slot's mode.  See sandbox.h for the design.
 */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sb_internal.h"
#include "banned.h"

const char *sb_outcome_name(enum sb_outcome o)
{
	static const char *const names[] = {
		"ok", "timeout", "oom", "load_failed", "exception", "crashed",
		"too_large", "internal",
	};
	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

int sb_global_init(int use_cgroups, enum sb_cg_version *version)
{
	if (!use_cgroups) {
		log_msg(LOG_WARN, "cgroups are configured off: user code runs without memory, CPU or pids limits");
		return 0;
	}
	return sb_cg_global_init(version);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[512];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return log_err("path too long: %s", path);
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return log_errno("mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return log_errno("mkdir %s", tmp);
	return 0;
}

int sb_slot_open(struct sb_slot *s, const struct sb_config *cfg, unsigned index)
{
	char name[300];
	struct sockaddr_un sa;
	const char *kind = cfg->kind ? cfg->kind : "slot";

	memset(s, 0, sizeof(*s));
	s->index = index;
	s->cfg = *cfg;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/%ss/%u", cfg->run_dir, kind, index) >= sizeof(s->dir))
		return log_err("run_dir too long: %s", cfg->run_dir);
	snprintf(s->sock, sizeof(s->sock), "%s/w.sock", s->dir);
	if (strlen(s->sock) >= sizeof(sa.sun_path))
		return log_err("socket path %s is longer than %zu bytes: choose a shorter run_dir",
			       s->sock, sizeof(sa.sun_path) - 1);
	if (mkdir_p(s->dir, 0755) < 0)
		return -1;
	sb_clean_dir(s->dir);
	{
		/* Mount point of the jail's root (a tmpfs in the child's own mount namespace). */
		char root[sizeof(s->dir) + 8];
		snprintf(root, sizeof(root), "%s/.root", s->dir);
		if (cfg->jail && mkdir(root, 0755) < 0 && errno != EEXIST)
			return log_errno("mkdir %s", root);
	}
	if (cfg->use_cgroups) {
		snprintf(name, sizeof(name), "oyster/%s/%s%u", cfg->instance, kind, index);
		if (sb_cg_create(&s->cg, name, &cfg->limits) < 0)
			return log_err("slot %u: cannot create cgroup %s", index, name);
	}
	if (cfg->mode == SB_MODE_POOL && sb_pool_open(s) < 0) {
		sb_slot_close(s);
		return log_err("slot %u: cannot start its warm workerd", index);
	}
	if (cfg->mode == SB_MODE_PROCESS)
		sb_slot_finish(s); /* the first spare */
	return 0;
}

void sb_slot_close(struct sb_slot *s)
{
	sb_process_close(s);
	if (s->pool)
		sb_pool_close(s);
	if (s->cg)
		sb_cg_destroy(s->cg);
	s->cg = NULL;
	if (s->dir[0]) {
		char root[sizeof(s->dir) + 8], *slash;
		snprintf(root, sizeof(root), "%s/.root", s->dir);
		sb_clean_dir(s->dir);
		rmdir(root);
		rmdir(s->dir);
		/* <run_dir>/<kind>s, made by sb_slot_open: gone with its last slot
		 * (another slot's directory keeps it: ENOTEMPTY) */
		if ((slash = strrchr(s->dir, '/'))) {
			*slash = '\0';
			rmdir(s->dir);
			*slash = '/';
		}
	}
}

void sb_result_init(struct sb_result *r)
{
	memset(r, 0, sizeof(*r));
	sb_http_response_init(&r->http);
	buf_init(&r->error);
	r->outcome = SB_INTERNAL;
}

void sb_result_release(struct sb_result *r)
{
	sb_http_response_release(&r->http);
	buf_release(&r->error);
}

int sb_mode_parse(const char *name, enum sb_mode *out)
{
	if (!strcmp(name, "process"))
		*out = SB_MODE_PROCESS;
	else if (!strcmp(name, "pool"))
		*out = SB_MODE_POOL;
	else
		return -1;
	return 0;
}

int sb_run_keyed(struct sb_slot *s, const struct code *c, const char *isolate_key,
		 const struct sb_request *req, unsigned deadline_ms, struct sb_result *res)
{
	if (s->pool)
		return sb_pool_run(s, c, isolate_key, req, deadline_ms, res);
	return sb_process_run(s, c, req, deadline_ms, res);
}

int sb_run(struct sb_slot *s, const struct code *c, const struct sb_request *req,
	   unsigned deadline_ms, struct sb_result *res)
{
	return sb_run_keyed(s, c, NULL, req, deadline_ms, res);
}
