#include "sb_capnp.h"

#include <string.h>

#include "banned.h"

static const char *field_for(enum code_module_type t)
{
	switch (t) {
	case CODE_ESMODULE: return "esModule";
	case CODE_WASM: return "wasm";
	case CODE_TEXT: return "text";
	case CODE_DATA: return "data";
	case CODE_JSON: return "json";
	}
	return NULL;
}

/* capnp text string literal; module names are already restricted, this is defence in depth. */
static void add_quoted(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			buf_addf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			buf_addf(out, "\\x%02x", ch);
		else
			buf_addch(out, (char)ch);
	}
	buf_addch(out, '"');
}

static void add_module(struct buf *out, const struct code *c, const char *prefix, size_t i)
{
	buf_addstr(out, "    (name = ");
	add_quoted(out, c->mods[i].name);
	buf_addf(out, ", %s = embed \"%s%zu\"),\n", field_for(c->mods[i].type), prefix, i);
}

int sb_capnp_worker(struct buf *out, const char *name, const char *file_prefix, const struct code *c,
		    const char *compat_date)
{
	size_t main_idx = c->n;

	for (size_t i = 0; i < c->n; i++) {
		if (!field_for(c->mods[i].type))
			return -1;
		if (!strcmp(c->mods[i].name, c->main))
			main_idx = i;
	}
	if (main_idx == c->n || c->mods[main_idx].type != CODE_ESMODULE)
		return -1;
	buf_addf(out, "const %s :Workerd.Worker = (\n  modules = [\n", name);
	/* workerd takes the first module as the entry point. */
	add_module(out, c, file_prefix, main_idx);
	for (size_t i = 0; i < c->n; i++)
		if (i != main_idx)
			add_module(out, c, file_prefix, i);
	buf_addstr(out, "  ],\n  compatibilityDate = ");
	add_quoted(out, compat_date);
	buf_addstr(out, ",\n  globalOutbound = \"deny-all\",\n);\n");
	return out->data ? 0 : -1;
}

int sb_capnp_config(struct buf *out, const struct code *c, const char *compat_date)
{
	struct buf w = BUF_INIT;
	int r;

	if (sb_capnp_worker(&w, "worker", "m", c, compat_date) < 0) {
		buf_release(&w);
		return -1;
	}
	buf_addstr(out,
		   "using Workerd = import \"/workerd/workerd.capnp\";\n"
		   "const config :Workerd.Config = (\n"
		   "  services = [\n"
		   "    (name = \"main\", worker = .worker),\n"
		   "    (name = \"deny-all\", network = (allow = [])),\n"
		   "  ],\n"
		   "  sockets = [ (name = \"http\", address = \"unix:/nonexistent\", http = (), service = \"main\") ],\n"
		   ");\n");
	r = buf_add(out, w.data, w.len);
	buf_release(&w);
	return r < 0 || !out->data ? -1 : 0;
}
