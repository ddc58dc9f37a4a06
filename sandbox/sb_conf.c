/* Sandbox settings from the executor configuration.  See sb_conf.h. */
#include "sb_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#include "sb_jail.h"

#include "banned.h"

void sb_config_from_conf(struct sb_config *out, const struct conf *c, const char *kind,
			 size_t max_response)
{
	enum sb_mode mode = SB_MODE_POOL;

	sb_mode_parse(c->sandbox_mode, &mode); /* the config table allows nothing else */
	*out = (struct sb_config){
		.mode = mode,
		.workerd_path = c->workerd_path,
		.kind = kind,
		.run_dir = c->run_dir,
		.instance = c->instance,
		.compat_date = c->compatibility_date,
		.use_cgroups = (int)c->cgroups,
		.limits = { (uint64_t)c->memory_limit, (unsigned)c->cpu_percent, (unsigned)c->pids_limit },
		.max_response = max_response,
		.pool_recycle_requests = (unsigned)c->pool_recycle_requests,
		.pool_recycle_memory = (uint64_t)c->pool_recycle_memory,
		.pool_prepare = (int)c->pool_prepare,
		.jail = (int)c->jail,
		.seccomp = (int)c->seccomp,
		.scratch_bytes = (size_t)c->scratch_bytes,
	};
	if (c->jail) {
		uid_t uid;
		gid_t gid;
		struct buf err = BUF_INIT;

		/* Unresolvable: leave uid 0, which sb_jail refuses (the daemons check at start). */
		if (sb_jail_parse_user(c->sandbox_user, &uid, &gid, &err) == 0) {
			out->jail_uid = (unsigned)uid;
			out->jail_gid = (unsigned)gid;
		}
		buf_release(&err);
	}
}

int sb_jail_from_conf(const struct conf *c, const char *program, struct sb_jail *j, struct buf *why)
{
	uid_t uid = 0;
	gid_t gid = 0;

	memset(j, 0, sizeof(*j));
	j->enabled = (int)c->jail;
	j->seccomp = (int)c->seccomp;
	j->program = program;
	j->scratch_bytes = (size_t)c->scratch_bytes;
	if (!c->jail)
		return 0;
	if (sb_jail_parse_user(c->sandbox_user, &uid, &gid, why) < 0)
		return -1;
	j->uid = uid;
	j->gid = gid;
	return 0;
}

const char *sb_reuse_key(const struct conf *c, const char *id_hex, int opted_in)
{
	if (!id_hex || !id_hex[0] || !strcmp(c->isolate_reuse, "off"))
		return NULL;
	if (!strcmp(c->isolate_reuse, "all") || opted_in)
		return id_hex;
	return NULL;
}

int sb_jail_preflight(const struct conf *c)
{
	struct sb_jail j;
	struct buf why = BUF_INIT;
	char root[CONF_STR_MAX + 16];
	int rc = -1;

	if (!c->jail) {
		log_msg(LOG_WARN, "jail = off: workerd runs without namespaces, privilege drop or seccomp (unsafe)");
		return 0;
	}
	if (sb_jail_from_conf(c, c->workerd_path, &j, &why) < 0)
		goto out;
	if (mkdir(c->run_dir, 0755) < 0 && errno != EEXIST) {
		buf_addf(&why, "mkdir %s: %s", c->run_dir, strerror(errno));
		goto out;
	}
	/* Our own directory: both daemons run this check, possibly at once. */
	snprintf(root, sizeof(root), "%.200s/.jail-check.XXXXXX", c->run_dir);
	if (!mkdtemp(root)) {
		buf_addf(&why, "mkdtemp %s: %s", root, strerror(errno));
		goto out;
	}
	j.root_dir = root;
	rc = sb_jail_check(&j, &why);
	rmdir(root);
out:
	if (rc < 0)
		log_err("the jail is not usable on this host: %s; refusing to run user code "
			"(set 'jail = off' to run anyway, unsafe)", buf_cstr(&why));
	else
		log_msg(LOG_INFO, "jail: namespaces, read-only root, uid %u gid %u, seccomp %s",
			(unsigned)j.uid, (unsigned)j.gid, c->seccomp ? "on" : "off");
	buf_release(&why);
	return rc;
}
