/*
 * adv_memscan: look for a secret in another process's memory, from the
 * host (root), for the key-exfiltration test (t0108).  Reads every
 * readable mapping of PID listed in /proc/PID/maps through /proc/PID/mem
 * and searches it for the bytes given in hex, as raw bytes and as hex
 * text (either case).
 *
 *   adv_memscan PID HEX
 *
 * Prints one line: "pid P regions R bytes B found F" (F: the number of
 * places the secret was seen) and exits 0 when it read anything, 2 on a
 * usage error, 1 when the process could not be read at all.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banned.h"

#define CHUNK (1 << 20)

static int unhex(const char *h, unsigned char *out, size_t max, size_t *n)
{
	size_t len = strlen(h);

	if (len % 2 || len / 2 > max || !len)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)h[2 * i]) || !isxdigit((unsigned char)h[2 * i + 1]) ||
		    sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	*n = len / 2;
	return 0;
}

/* Count the occurrences of pat in buf. */
static unsigned long count(const unsigned char *buf, size_t n, const unsigned char *pat, size_t m)
{
	unsigned long c = 0;
	const unsigned char *p = buf, *end = buf + n;

	while (p + m <= end) {
		const unsigned char *q = memmem(p, (size_t)(end - p), pat, m);
		if (!q)
			break;
		c++;
		p = q + 1;
	}
	return c;
}

int main(int argc, char **argv)
{
	unsigned char raw[256], *buf;
	char lower[513], upper[513], path[64], line[512];
	const unsigned char *pats[3];
	size_t plen[3], n, keep;
	unsigned long regions = 0, found = 0;
	unsigned long long bytes = 0;
	FILE *maps;
	int mem;

	if (argc != 3 || unhex(argv[2], raw, sizeof(raw), &n) < 0) {
		fprintf(stderr, "usage: adv_memscan PID HEX (at most 256 bytes)\n");
		return 2;
	}
	for (size_t i = 0; i < 2 * n; i++) {
		lower[i] = (char)tolower((unsigned char)argv[2][i]);
		upper[i] = (char)toupper((unsigned char)argv[2][i]);
	}
	lower[2 * n] = upper[2 * n] = '\0';
	pats[0] = raw, plen[0] = n;
	pats[1] = (const unsigned char *)lower, plen[1] = 2 * n;
	pats[2] = (const unsigned char *)upper, plen[2] = 2 * n;
	keep = 2 * n - 1;
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	buf = malloc(CHUNK);
	if (!maps || mem < 0 || !buf) {
		fprintf(stderr, "adv_memscan: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long lo, hi;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r')
			continue;
		regions++;
		for (unsigned long long off = lo; off < hi;) {
			size_t want = hi - off < CHUNK ? (size_t)(hi - off) : CHUNK;
			ssize_t r = pread(mem, buf, want, (off_t)off);

			if (r <= 0)
				break; /* [vvar] and friends refuse: skip the rest */
			for (int k = 0; k < 3; k++)
				found += count(buf, (size_t)r, pats[k], plen[k]);
			/* The next chunk starts keep bytes early so a match across
			 * the boundary is seen (one inside the overlap may count twice:
			 * only zero or not matters). */
			if ((size_t)r <= keep || off + (unsigned long long)r >= hi) {
				bytes += (unsigned long long)r;
				off += (unsigned long long)r;
			} else {
				bytes += (unsigned long long)r - keep;
				off += (unsigned long long)r - keep;
			}
		}
	}
	printf("pid %s regions %lu bytes %llu found %lu\n", argv[1], regions, bytes, found);
	free(buf);
	fclose(maps);
	close(mem);
	return bytes ? 0 : 1;
}
