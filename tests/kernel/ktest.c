// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "harness.h"
#include "holder.h"
#include "uapi/fanotify_hsm.h"
#include "ktest.h"

#define READY_TIMEOUT_MS	10000
#define STOP_TIMEOUT_MS		10000

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *ktest_daemon_bin(void)
{
	return env_or("FSCACHED_BIN", "build/fscached");
}

const char *ktest_images(void)
{
	return env_or("TEST_IMAGES", "build/test-images");
}

bool ktest_kernel_before(int major, int minor, char *release, size_t len)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	snprintf(release, len, "%s", u.release);
	return ma < major || (ma == major && mi < minor);
}

const char *ktest_scratch(void)
{
	return env_or("GUEST_DISK", "/tmp");
}

static int probe_write(int fd, const char *fmt, ...)
{
	char cmd[PATH_MAX + 32];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -ENAMETOOLONG;
	return write(fd, cmd, n) == n ? 0 : -errno;
}

/* Binds a throwaway on-demand cache: 0, or the bind's -errno (or why). */
static int probe_ondemand_bind(char *why, size_t len)
{
	char dir[PATH_MAX], rm[PATH_MAX + 16];
	int fd, ret;

	fd = open("/dev/cachefiles", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		struct utsname u;

		if (getenv("GUEST_KIND"))
			snprintf(why, len, "kernel %s has no /dev/cachefiles (%s): the fanotify suite covers it",
				 uname(&u) ? "?" : u.release, strerror(errno));
		else
			snprintf(why, len, "no /dev/cachefiles (%s): run inside tools/guest-run",
				 strerror(errno));
		return -ENODEV;
	}
	ret = ktest_mkdtemp("ondemand-probe", dir, sizeof(dir));
	if (ret) {
		snprintf(why, len, "cannot make a directory to probe cachefiles in");
		close(fd);
		return ret;
	}
	ret = probe_write(fd, "dir %s", dir);
	if (!ret)
		ret = probe_write(fd, "tag ktest-probe-%d", (int)getpid());
	if (!ret)
		ret = probe_write(fd, "bind ondemand");
	close(fd);
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	if (system(rm))
		fprintf(stderr, "# could not remove %s\n", dir);
	return ret;
}

bool ktest_fanotify_unusable(char *why, size_t len)
{
	char path[PATH_MAX];
	int group, fd, err = 0;

	if (geteuid()) {
		snprintf(why, len, "needs root (CAP_SYS_ADMIN)");
		return true;
	}
	group = fanotify_init(FAN_CLASS_PRE_CONTENT | FAN_CLOEXEC, O_RDWR);
	if (group < 0) {
		snprintf(why, len, "fanotify_init(FAN_CLASS_PRE_CONTENT): %s",
			 strerror(errno));
		return true;
	}
	snprintf(path, sizeof(path), "%s/fanotify-probe.XXXXXX", ktest_scratch());
	fd = mkstemp(path);
	if (fd < 0) {
		close(group);
		snprintf(why, len, "cannot create a file in the scratch directory %s",
			 ktest_scratch());
		return true;
	}
	if (fanotify_mark(group, FAN_MARK_ADD, FAN_PRE_ACCESS, fd, NULL))
		err = errno;
	close(fd);
	unlink(path);
	close(group);
	if (err == EINVAL) {
		char release[128];

		ktest_kernel_before(99, 0, release, sizeof(release));
		snprintf(why, len, "kernel %s has no FAN_PRE_ACCESS (needs 6.14+ with CONFIG_FANOTIFY_ACCESS_PERMISSIONS)",
			 release);
		return true;
	}
	if (err) {
		snprintf(why, len, "the scratch directory %s takes no pre-content mark (%s): it must be on ext4, xfs or btrfs",
			 ktest_scratch(), strerror(err));
		return true;
	}
	return false;
}


bool ktest_cachefiles_unusable(char *why, size_t len)
{
	static int probed = 1;
	static char saved[256];
	struct utsname u;
	int ret;

	if (probed > 0) {
		ret = probe_ondemand_bind(saved, sizeof(saved));
		if (ret == -EINVAL || ret == -EOPNOTSUPP)
			snprintf(saved, sizeof(saved),
				 "kernel %s has no cachefiles on-demand mode (CONFIG_CACHEFILES_ONDEMAND): the fanotify suite covers it",
				 uname(&u) ? "?" : u.release);
		else if (ret && ret != -ENODEV)
			snprintf(saved, sizeof(saved),
				 "binding cachefiles in on-demand mode failed: %s",
				 strerror(-ret));
		probed = ret ? -1 : 0;
	}
	snprintf(why, len, "%s", saved);
	return probed < 0;
}

/* The front end ktest_frontend() picked: every daemon started gets it. */
static const char *picked_frontend;

static const char *pick_frontend(char *why, size_t len)
{
	const char *want = env_or("FSCACHED_TEST_FRONTEND", "auto");
	char cf[256], fan[256];

	if (!strcmp(want, "cachefiles")) {
		if (!ktest_cachefiles_unusable(cf, sizeof(cf)))
			return "cachefiles";
		snprintf(why, len, "FSCACHED_TEST_FRONTEND=cachefiles: %s", cf);
		return NULL;
	}
	if (!strcmp(want, "fanotify")) {
		if (!ktest_fanotify_unusable(fan, sizeof(fan)))
			return "fanotify";
		snprintf(why, len, "FSCACHED_TEST_FRONTEND=fanotify: %s", fan);
		return NULL;
	}
	if (strcmp(want, "auto")) {
		snprintf(why, len, "FSCACHED_TEST_FRONTEND=%s: not cachefiles, fanotify or auto",
			 want);
		return NULL;
	}
	if (!ktest_cachefiles_unusable(cf, sizeof(cf)))
		return "cachefiles";
	if (!ktest_fanotify_unusable(fan, sizeof(fan)))
		return "fanotify";
	snprintf(why, len, "neither front end can run here: %s; %s", cf, fan);
	return NULL;
}

const char *ktest_frontend(char *why, size_t len)
{
	picked_frontend = pick_frontend(why, len);
	return picked_frontend;
}

/* The value of option @opt in @extra, or NULL. */
static const char *extra_option(const char *const *extra, const char *opt)
{
	for (; extra && *extra; extra++)
		if (!strcmp(*extra, opt) && extra[1])
			return extra[1];
	return NULL;
}

static const char *frontend_name(const char *s)
{
	if (s && !strcmp(s, "fanotify"))
		return "fanotify";
	if (s && !strcmp(s, "cachefiles"))
		return "cachefiles";
	return NULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int ktest_mkdtemp(const char *what, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/%s.XXXXXX", ktest_scratch(),
			     what) >= len)
		return -ENAMETOOLONG;
	return mkdtemp(out) ? 0 : -errno;
}

/* In the child: what a service manager gives a service it starts. */
static void spawn_env(const struct ktest_spawn *how)
{
	char pid[32];

	if (!how)
		return;
	if (how->notify_socket)
		setenv("NOTIFY_SOCKET", how->notify_socket, 1);
	if (how->listen_fd >= 0) {
		if (how->listen_fd != 3) {
			dup2(how->listen_fd, 3);
		} else {
			/* Clear close-on-exec: it must reach the daemon. */
			fcntl(3, F_SETFD, 0);
		}
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_FDNAMES", "cachefiles", 1);
	}
}

int ktest_daemon_spawn(struct ktest_daemon *d, const char *cache_dir,
		       const char *blob_dir, const char *const *extra)
{
	return ktest_daemon_spawn_with(d, cache_dir, blob_dir, extra, NULL);
}

int ktest_daemon_spawn_with(struct ktest_daemon *d, const char *cache_dir,
			    const char *blob_dir, const char *const *extra,
			    const struct ktest_spawn *how)
{
	const char *argv[40], *fe = extra_option(extra, "--frontend");
	const char *sock = extra_option(extra, "--apisock");
	char dir[PATH_MAX / 2];
	int n = 0, fd;
	pid_t pid;

	snprintf(d->cache_dir, sizeof(d->cache_dir), "%s", cache_dir);
	if (ktest_mkdtemp("daemon", dir, sizeof(dir)))
		return -errno;
	snprintf(d->log_path, sizeof(d->log_path), "%s/log", dir);
	snprintf(d->stats_path, sizeof(d->stats_path), "%s/stats.json", dir);
	if (sock)
		snprintf(d->api_sock, sizeof(d->api_sock), "%s", sock);
	else
		snprintf(d->api_sock, sizeof(d->api_sock), "%s/api.sock", dir);
	d->frontend = frontend_name(fe ? fe : picked_frontend);

	argv[n++] = ktest_daemon_bin();
	argv[n++] = "--fscache";
	argv[n++] = d->cache_dir;
	argv[n++] = "--stats-file";
	argv[n++] = d->stats_path;
	if (blob_dir) {
		argv[n++] = "--blob-dir";
		argv[n++] = blob_dir;
	}
	if (!sock) {
		argv[n++] = "--apisock";
		argv[n++] = d->api_sock;
	}
	if (!fe && d->frontend) {
		argv[n++] = "--frontend";
		argv[n++] = d->frontend;
	}
	while (extra && *extra && n < 38)
		argv[n++] = *extra++;
	argv[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		spawn_env(how);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	d->pid = pid;
	return 0;
}

int ktest_daemon_start(struct ktest_daemon *d, const char *blob_dir,
		       const char *const *extra)
{
	char cache[PATH_MAX];
	int ret;

	ret = ktest_mkdtemp("cache", cache, sizeof(cache));
	if (ret)
		return ret;
	return ktest_daemon_start_in(d, cache, blob_dir, extra);
}

int ktest_daemon_start_in(struct ktest_daemon *d, const char *cache,
			  const char *blob_dir, const char *const *extra)
{
	int ret;

	ret = ktest_daemon_spawn(d, cache, blob_dir, extra);
	return ret ? ret : ktest_daemon_wait_ready(d);
}

int ktest_daemon_wait_ready(struct ktest_daemon *d)
{
	unsigned int waited;

	for (waited = 0; waited < READY_TIMEOUT_MS; waited += 10) {
		if (ktest_daemon_log_contains(d, " ready: "))
			return 0;
		if (!ktest_daemon_alive(d))
			return -ECHILD;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int ktest_daemon_wait(struct ktest_daemon *d, unsigned int ms)
{
	unsigned int waited;
	int status;
	pid_t r;

	if (d->pid <= 0)
		return -1;
	for (waited = 0;; waited += 10) {
		r = waitpid(d->pid, &status, WNOHANG);
		if (r == d->pid)
			break;
		if (r < 0 || waited >= ms)
			return -1;
		sleep_ms(10);
	}
	d->pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int ktest_daemon_stop(struct ktest_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	status = ktest_daemon_wait(d, STOP_TIMEOUT_MS);
	if (status < 0 && d->pid > 0) {
		kill(d->pid, SIGKILL);
		ktest_daemon_wait(d, STOP_TIMEOUT_MS);
		return -1;
	}
	return status;
}

bool ktest_daemon_alive(struct ktest_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return false;
	if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
		d->pid = 0;
		return false;
	}
	return true;
}

static char *read_file(const char *path)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	buf = malloc(st.st_size + 1);
	n = buf ? read(fd, buf, st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

void ktest_daemon_dump_log(struct ktest_daemon *d)
{
	char *text = read_file(d->log_path), *line, *save = NULL;

	if (!text)
		return;
	TH_LOG("daemon log (%s):", d->log_path);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		TH_LOG("  %s", line);
	free(text);
}

bool ktest_daemon_log_contains(struct ktest_daemon *d, const char *needle)
{
	char *text = read_file(d->log_path);
	bool found = text && strstr(text, needle);

	free(text);
	return found;
}

int ktest_daemon_counter(struct ktest_daemon *d, const char *path,
			 uint64_t *value)
{
	struct json_object *root, *o;
	char key[256], *part, *save = NULL;
	unsigned int waited;
	int ret = -ENOENT;

	unlink(d->stats_path);
	if (kill(d->pid, SIGUSR1))
		return -errno;
	for (waited = 0; access(d->stats_path, R_OK); waited += 10) {
		if (waited >= READY_TIMEOUT_MS)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
	root = json_object_from_file(d->stats_path);
	if (!root)
		return -EBADMSG;
	snprintf(key, sizeof(key), "%s", path);
	o = root;
	for (part = strtok_r(key, ".", &save); part && o;
	     part = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, part, &o))
			o = NULL;
	if (o && json_object_is_type(o, json_type_int)) {
		*value = json_object_get_uint64(o);
		ret = 0;
	}
	json_object_put(root);
	return ret;
}

int ktest_mount(const char *fsid, const char *domain_id, const char *mnt)
{
	char data[512];

	if (domain_id)
		snprintf(data, sizeof(data), "domain_id=%s,fsid=%s", domain_id,
			 fsid);
	else
		snprintf(data, sizeof(data), "fsid=%s", fsid);
	if (mount("none", mnt, "erofs", MS_RDONLY, data))
		return -errno;
	return 0;
}

int ktest_umount(const char *mnt)
{
	return umount(mnt) ? -errno : 0;
}

int ktest_api_mount(const char *sock, const char *mnt, const char *source,
		    const char *fs_type, const char *config)
{
	struct json_object *body = json_object_new_object();
	char url[PATH_MAX + 64];
	int status;

	json_object_object_add(body, "source", json_object_new_string(source));
	json_object_object_add(body, "fs_type", json_object_new_string(fs_type));
	if (config)
		json_object_object_add(body, "config",
				       json_object_new_string(config));
	snprintf(url, sizeof(url), "/api/v1/mount?mountpoint=%s", mnt);
	status = ktest_api(sock, "POST", url, json_object_to_json_string(body));
	json_object_put(body);
	return status;
}

int ktest_api_umount(const char *sock, const char *mnt)
{
	char url[PATH_MAX + 64];

	snprintf(url, sizeof(url), "/api/v1/mount?mountpoint=%s", mnt);
	return ktest_api(sock, "DELETE", url, NULL);
}

int ktest_sha256_file(const char *path, unsigned char md[32])
{
	static char buf[1 << 16];
	EVP_MD_CTX *ctx;
	unsigned int len;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	if (n < 0)
		ret = -errno;
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	close(fd);
	return ret;
}

static __attribute__((format(printf, 3, 4))) int
differ(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Counts the user xattrs of @path; their values are checked separately. */
static int count_xattrs(const char *path, struct ktest_tree_stats *st,
			char *err, size_t errlen)
{
	char list[4096], *k;
	ssize_t n;

	n = llistxattr(path, list, sizeof(list));
	if (n < 0)
		return differ(err, errlen, "%s: listxattr: %s", path,
			      strerror(errno));
	for (k = list; k < list + n; k += strlen(k) + 1)
		if (!strncmp(k, "user.", 5))
			st->xattrs++;
	return 0;
}

static int unhex(const char *s, unsigned char *out, size_t max, size_t *len)
{
	size_t n = 0;
	unsigned int v;

	if (strncmp(s, "0x", 2))
		return -1;
	for (s += 2; s[0] && s[1] && n < max; s += 2) {
		if (sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = v;
	}
	*len = n;
	return 0;
}

/*
 * The guest sees the source trees through hostfs, which has no xattrs, so
 * mkimages records them in <tree>.xattrs (getfattr -e hex format).
 */
static int check_xattr_manifest(const char *src, const char *mnt,
				unsigned long *expected, char *err,
				size_t errlen)
{
	char path[PATH_MAX * 3], line[8192], file[8192] = "";
	unsigned char want[4096], got[4096];
	size_t wlen;
	ssize_t glen;
	char *eq;
	FILE *f;
	int ret = 0;

	*expected = 0;
	snprintf(path, sizeof(path), "%s.xattrs", src);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "# file: ", 8)) {
			snprintf(file, sizeof(file), "%s", line + 8);
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || !*file)
			continue;
		*eq = '\0';
		if (unhex(eq + 1, want, sizeof(want), &wlen)) {
			wlen = 0;
			if (strcmp(eq + 1, "") && strcmp(eq + 1, "\"\"")) {
				ret = differ(err, errlen, "%s: bad line", path);
				break;
			}
		}
		snprintf(path, sizeof(path), "%s/%s", mnt, file);
		glen = lgetxattr(path, line, got, sizeof(got));
		if (glen < 0)
			ret = differ(err, errlen, "%s: xattr %s: %s", path,
				     line, strerror(errno));
		else if ((size_t)glen != wlen || memcmp(got, want, wlen))
			ret = differ(err, errlen, "%s: xattr %s differs", path,
				     line);
		(*expected)++;
	}
	fclose(f);
	return ret;
}

static int compare_entry(const char *a, const char *b,
			 struct ktest_tree_stats *st, char *err,
			 size_t errlen);

static int count_entries(const char *dir, unsigned long *n)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	*n = 0;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			(*n)++;
	closedir(d);
	return 0;
}

static int compare_dirs(const char *a, const char *b,
			struct ktest_tree_stats *st, char *err, size_t errlen)
{
	char pa[PATH_MAX * 2], pb[PATH_MAX * 2];
	unsigned long na, nb;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (count_entries(a, &na) || count_entries(b, &nb))
		return differ(err, errlen, "%s: cannot list: %s", b,
			      strerror(errno));
	if (na != nb)
		return differ(err, errlen, "%s: %lu entries, source has %lu",
			      b, nb, na);
	d = opendir(a);
	if (!d)
		return differ(err, errlen, "%s: %s", a, strerror(errno));
	while (!ret && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(pa, sizeof(pa), "%s/%s", a, de->d_name);
		snprintf(pb, sizeof(pb), "%s/%s", b, de->d_name);
		ret = compare_entry(pa, pb, st, err, errlen);
	}
	closedir(d);
	return ret;
}

static int compare_entry(const char *a, const char *b,
			 struct ktest_tree_stats *st, char *err,
			 size_t errlen)
{
	unsigned char ma[32], mb[32];
	char ta[PATH_MAX], tb[PATH_MAX];
	struct stat sa, sb;
	ssize_t la, lb;
	int ret;

	if (lstat(a, &sa))
		return differ(err, errlen, "%s: %s", a, strerror(errno));
	if (lstat(b, &sb))
		return differ(err, errlen, "%s: %s", b, strerror(errno));
	if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT) ||
	    (!S_ISLNK(sa.st_mode) && sa.st_mode != sb.st_mode))
		return differ(err, errlen, "%s: mode %o, source has %o", b,
			      sb.st_mode, sa.st_mode);
	if (S_ISREG(sa.st_mode)) {
		if (sa.st_size != sb.st_size || sa.st_nlink != sb.st_nlink)
			return differ(err, errlen,
				      "%s: size %lld nlink %lu, source has %lld %lu",
				      b, (long long)sb.st_size,
				      (unsigned long)sb.st_nlink,
				      (long long)sa.st_size,
				      (unsigned long)sa.st_nlink);
		ret = ktest_sha256_file(a, ma);
		if (ret)
			return differ(err, errlen, "%s: %s", a, strerror(-ret));
		ret = ktest_sha256_file(b, mb);
		if (ret)
			return differ(err, errlen, "%s: read: %s", b,
				      strerror(-ret));
		if (memcmp(ma, mb, sizeof(ma)))
			return differ(err, errlen, "%s: sha256 differs", b);
		st->files++;
		st->bytes += sa.st_size;
		if (sa.st_nlink > 1)
			st->hardlinks++;
	} else if (S_ISLNK(sa.st_mode)) {
		la = readlink(a, ta, sizeof(ta) - 1);
		lb = readlink(b, tb, sizeof(tb) - 1);
		if (la < 0 || lb < 0 || la != lb || memcmp(ta, tb, la))
			return differ(err, errlen, "%s: symlink target differs",
				      b);
		st->symlinks++;
	} else if (S_ISDIR(sa.st_mode)) {
		st->dirs++;
		ret = compare_dirs(a, b, st, err, errlen);
		if (ret)
			return ret;
	} else {
		if (sa.st_rdev != sb.st_rdev)
			return differ(err, errlen, "%s: device differs", b);
		st->others++;
	}
	return count_xattrs(b, st, err, errlen);
}

int ktest_compare_trees(const char *src, const char *mnt,
			struct ktest_tree_stats *st, char *err, size_t errlen)
{
	unsigned long expected;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = compare_entry(src, mnt, st, err, errlen);
	if (ret)
		return ret;
	ret = check_xattr_manifest(src, mnt, &expected, err, errlen);
	if (ret)
		return ret;
	if (expected != st->xattrs)
		return differ(err, errlen,
			      "%s: %lu user xattrs, the source has %lu", mnt,
			      st->xattrs, expected);
	return 0;
}

int ktest_compare_image(const char *tree, const char *mnt,
			struct ktest_tree_stats *st)
{
	char src[PATH_MAX], err[PATH_MAX + 128];
	int ret;

	snprintf(src, sizeof(src), "%s/src/%s", ktest_images(), tree);
	ret = ktest_compare_trees(src, mnt, st, err, sizeof(err));
	if (ret)
		TH_LOG("%s", err);
	else
		TH_LOG("%s: %lu files (%llu bytes), %lu dirs, %lu symlinks, %lu hard links, %lu xattrs match",
		       tree, st->files, st->bytes, st->dirs, st->symlinks,
		       st->hardlinks, st->xattrs);
	return ret;
}

bool ktest_have_chunked(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/blobs/chunked", ktest_images());
	return !access(path, R_OK);
}

int ktest_write_prefetch_config(const char *path, const char *blobs)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "{\"version\": 2, \"id\": \"pf\", "
		   "\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"%s\"}}, "
		   "\"cache\": {\"type\": \"fscache\", \"prefetch\": "
		   "{\"enable\": true, \"threads\": 2, \"batch_size\": 1048576}}}\n",
		blobs);
	return fclose(f);
}

int ktest_run_capture(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;

	out[0] = '\0';
	if (!f)
		return -1;
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	return pclose(f);
}

int ktest_read_concurrently(const char *tree, const char *mnt,
			    unsigned int readers)
{
	char src[PATH_MAX], err[PATH_MAX + 128];
	struct ktest_tree_stats st;
	pid_t pids[KTEST_MAX_READERS];
	int status, failed = 0;
	unsigned int i;

	if (readers > KTEST_MAX_READERS)
		readers = KTEST_MAX_READERS;

	snprintf(src, sizeof(src), "%s/src/%s", ktest_images(), tree);
	for (i = 0; i < readers; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			if (ktest_compare_trees(src, mnt, &st, err, sizeof(err))) {
				fprintf(stderr, "# reader %u: %s\n", i, err);
				_exit(1);
			}
			_exit(0);
		}
		if (pids[i] < 0)
			failed++;
	}
	for (i = 0; i < readers; i++) {
		if (pids[i] <= 0)
			continue;
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	return failed;
}

void ktest_shuffle(unsigned int *v, unsigned int n, unsigned int *seed)
{
	unsigned int i, j, t;

	for (i = n; i > 1; i--) {
		j = rand_r(seed) % i;
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* Read @path up to @limit bytes (0: to its end): 0 or -errno. */
static int read_upto(const char *path, uint64_t limit)
{
	static char buf[1 << 16];
	uint64_t total = 0;
	size_t want;
	ssize_t n = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	for (;;) {
		want = sizeof(buf);
		if (limit && limit - total < want)
			want = limit - total;
		if (!want || (n = read(fd, buf, want)) <= 0)
			break;
		total += n;
	}
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int ktest_read_all(const char *path)
{
	return read_upto(path, 0);
}

int ktest_read_page(const char *path)
{
	return read_upto(path, 4096);
}

int ktest_count_paths(const char *pattern)
{
	glob_t g;
	int n;

	if (glob(pattern, 0, NULL, &g))
		return 0;
	n = g.gl_pathc;
	globfree(&g);
	return n;
}
