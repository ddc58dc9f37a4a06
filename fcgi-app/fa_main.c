/*
 * oyster-fcgi: the FastCGI side of the Oyster serverless executor.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fa_master.h"
#include "log.h"
#include "version.h"
#include "banned.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: oyster-fcgi [OPTIONS]\n"
		"\n"
		"Serve the Oyster serverless HTTP API over FastCGI (behind nginx): a master\n"
		"process pre-forks one handler per sandbox slot plus a control handler.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE         configuration file (default: defaults only;\n"
		"                            packaged: /etc/oyster-executor/executor.conf)\n"
		"  -t, --check-config        validate the configuration and exit\n"
		"      --print-config        print the effective configuration (key=value)\n"
		"      --print-sample-config print the documented sample executor.conf\n"
		"  -V, --version             print the version\n"
		"  -h, --help                print this help\n"
		"\n"
		"Signals: SIGHUP reloads the configuration without dropping requests;\n"
		"SIGTERM/SIGINT drain in-flight requests and exit.\n"
		"See oyster-fcgi(8) and executor.conf(5).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "print-sample-config", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int check = 0, print = 0, opt;
	static struct conf conf;
	struct buf out = BUF_INIT;
	enum log_level lv;

	while ((opt = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 't': check = 1; break;
		case 'P': print = 1; break;
		case 'S':
			conf_sample(&out);
			fputs(buf_cstr(&out), stdout);
			buf_release(&out);
			return 0;
		case 'V': printf("oyster-fcgi %s\n", OYSTER_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	log_set_component("fcgi-master");
	if (conf_load(&conf, config) < 0)
		return 1;
	if (log_level_parse(conf.log_level, &lv) == 0)
		log_set_level(lv);
	if (print) {
		conf_dump(&conf, &out);
		fputs(buf_cstr(&out), stdout);
		buf_release(&out);
		return 0;
	}
	if (check) {
		printf("configuration ok\n");
		return 0;
	}
	return fa_master_run(config, &conf) < 0 ? 1 : 0;
}
