/* DKIM key files (dkim_key.h). */
#include "dkim_key.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tls_rsa.h"

static int paths(const char *data_dir, const char *domain, char *key,
                 char *sel)
{
	if (!domain[0] || strchr(domain, '/') || domain[0] == '.')
		return -1;
	int a = snprintf(key, PATH_MAX, "%s/dkim/%s.key", data_dir, domain);
	int b = snprintf(sel, PATH_MAX, "%s/dkim/%s.selector", data_dir,
	                 domain);
	return a > 0 && a < PATH_MAX && b > 0 && b < PATH_MAX ? 0 : -1;
}

int dkim_key_generate(const char *data_dir, const char *domain, int uid,
                      int gid, char *err, size_t errlen)
{
	char key[PATH_MAX], sel[PATH_MAX], dir[PATH_MAX];
	if (paths(data_dir, domain, key, sel) != 0) {
		snprintf(err, errlen, "bad domain '%s'", domain);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s/dkim", data_dir);
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (access(sel, F_OK) == 0) {
		snprintf(err, errlen, "%s already has a DKIM key (%s)", domain,
		         sel);
		return -1;
	}
	unlink(key); /* a key without selector: an interrupted keygen */
	if (tls_rsa_keygen(key, DKIM_KEY_BITS, err, errlen) != 0)
		return -1;
	char name[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	snprintf(name, sizeof name, "pl%04d%02d", tm.tm_year + 1900,
	         tm.tm_mon + 1);
	/* The selector file last: its presence means the key is whole. */
	FILE *f = fopen(sel, "wx");
	if (!f || fprintf(f, "%s\n", name) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		snprintf(err, errlen, "%s: %s", sel, strerror(errno));
		if (f)
			fclose(f);
		unlink(sel);
		return -1;
	}
	fclose(f);
	if (uid >= 0 && (chown(dir, (uid_t)uid, (gid_t)gid) != 0 ||
	                 chown(key, (uid_t)uid, (gid_t)gid) != 0 ||
	                 chown(sel, (uid_t)uid, (gid_t)gid) != 0)) {
		snprintf(err, errlen, "chown: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int dkim_key_record(const char *data_dir, const char *domain, FILE *out)
{
	char key[PATH_MAX], sel[PATH_MAX], name[64] = "", err[256];
	if (paths(data_dir, domain, key, sel) != 0)
		return 1;
	FILE *f = fopen(sel, "re");
	if (!f)
		return 1;
	if (!fgets(name, sizeof name, f))
		name[0] = '\0';
	fclose(f);
	name[strcspn(name, "\r\n \t")] = '\0';
	struct tls_rsa_key *k = tls_rsa_key_load(key, err, sizeof err);
	char pub[1024];
	if (!name[0] || !k || tls_rsa_key_public_b64(k, pub, sizeof pub) != 0) {
		tls_rsa_key_free(k);
		return -1;
	}
	tls_rsa_key_free(k);
	/* RFC 6376 3.6.2.2: a TXT record is strings of at most 255
	 * octets, concatenated by the verifier. */
	fprintf(out, "%s._domainkey.%s. 3600 IN TXT ( \"v=DKIM1; k=rsa; \"",
	        name, domain);
	size_t n = strlen(pub);
	for (size_t i = 0; i < n; i += 250)
		fprintf(out, "\n\t\"%s%.*s\"", i ? "" : "p=",
		        (int)(n - i > 250 ? 250 : n - i), pub + i);
	fprintf(out, " )\n");
	return 0;
}
