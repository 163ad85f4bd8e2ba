// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's command line: mistakes get a message that says what to do,
 * and the daemon never starts half-configured.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char daemon_path[PATH_MAX + 16];
static char output[16384];

static const char *daemon_bin(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (getenv("FSCACHED_BIN"))
		return getenv("FSCACHED_BIN");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return "build/fscached";
	self[n] = '\0';
	/* BUILD/tests/unit/test_cli -> BUILD/fscached */
	slash = strstr(self, "/tests/unit/");
	if (slash)
		*slash = '\0';
	snprintf(daemon_path, sizeof(daemon_path), "%s/fscached", self);
	return daemon_path;
}

/* Runs the daemon with @args (a shell word list); returns its exit status. */
static int run_daemon(const char *args)
{
	char cmd[PATH_MAX + 1024];
	size_t n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "timeout 10 %s %s 2>&1", daemon_bin(), args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(output, 1, sizeof(output) - 1, p);
	output[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define EXPECT_OUTPUT(needle) do {					\
	if (!strstr(output, needle))					\
		TH_LOG("output lacks '%s':\n%s", needle, output);	\
	EXPECT_NE(NULL, strstr(output, needle));			\
} while (0)

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

TEST(help_and_version)
{
	EXPECT_EQ(0, run_daemon("--help"));
	EXPECT_OUTPUT("--fscache DIR");
	EXPECT_OUTPUT("mount -t erofs none -o fsid=");
	EXPECT_EQ(0, run_daemon("--version"));
	EXPECT_OUTPUT("fscached ");
}

/* nydusd's --log-file: the log, errors included, goes to the file. */
TEST(log_file_takes_the_log)
{
	char dir[] = "/tmp/fscached-cli-XXXXXX", path[64], args[256], text[4096];
	size_t n;
	FILE *f;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	snprintf(args, sizeof(args),
		 "--log-file %s --rlimit-nofile 4096 --fscache /x --blob-dir /nonexistent-blobs",
		 path);
	EXPECT_EQ(2, run_daemon(args));
	EXPECT_EQ(NULL, strstr(output, "nonexistent-blobs"));
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	EXPECT_NE(NULL, strstr(text, "--blob-dir /nonexistent-blobs: No such file or directory"));
	unlink(path);
	rmdir(dir);
	EXPECT_EQ(2, run_daemon("--log-file /nonexistent/dir/log --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--log-file /nonexistent/dir/log: No such file or directory");
	EXPECT_EQ(2, run_daemon("--rlimit-nofile 0 --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--rlimit-nofile: '0' is not a number from 1 to");
	/* nydus-snapshotter's default: accepted (and its value still checked by getopt). */
	EXPECT_EQ(2, run_daemon("--log-rotation-size 100 --fscache rel --blob-dir /tmp"));
	EXPECT_OUTPUT("--fscache rel: must be an absolute path");
	EXPECT_EQ(2, run_daemon("--fscache /x --blob-dir /tmp --log-rotation-size"));
	EXPECT_OUTPUT("requires an argument");
	/* cachefilesd's limits: names, numbers and their order are checked. */
	EXPECT_EQ(2, run_daemon("--cache-limits brun=5 --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--cache-limits: needs bstop < bcull < brun and fstop < fcull < frun (now 3/7/5 and 3/7/10)");
	EXPECT_EQ(2, run_daemon("--cache-limits bfree=5% --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--cache-limits: 'bfree' is not NAME=N% with NAME one of brun");
	EXPECT_EQ(2, run_daemon("--cache-limits brun=100% --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--cache-limits: 'brun' is not NAME=N%");
	EXPECT_EQ(2, run_daemon("--cache-limits brun=20%,bcull=15%,bstop=10%,frun=9,fcull=8,fstop=1 --fscache rel --blob-dir /tmp"));
	EXPECT_OUTPUT("--fscache rel: must be an absolute path");
	EXPECT_EQ(2, run_daemon("--cache-limits off --fscache rel --blob-dir /tmp"));
	EXPECT_OUTPUT("--fscache rel: must be an absolute path");
	/* nydusd's failover options: --upgrade needs someone to take over from. */
	EXPECT_EQ(2, run_daemon("--upgrade --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--upgrade takes the cache device over from a supervisor: give --supervisor PATH too");
}

TEST(usage_errors_exit_2_and_say_why)
{
	EXPECT_EQ(2, run_daemon("--fscache /tmp/x"));
	EXPECT_OUTPUT("no blobs to serve: give --blob-dir DIR, --config FILE, or --apisock PATH");
	EXPECT_EQ(2, run_daemon("--blob-dir /tmp"));
	EXPECT_OUTPUT("no cache directory: give --fscache DIR");
	EXPECT_EQ(2, run_daemon("--fscache rel --blob-dir /tmp"));
	EXPECT_OUTPUT("must be an absolute path");
	EXPECT_EQ(2, run_daemon("--fscache /tmp/x --blob-dir /nonexistent-blobs"));
	EXPECT_OUTPUT("--blob-dir /nonexistent-blobs: No such file or directory");
	EXPECT_EQ(2, run_daemon("--fscache-threads 0 --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--fscache-threads: '0' is not a number from 1 to 1024");
	EXPECT_EQ(2, run_daemon("--fscache-threads 12x --fscache /x --blob-dir /tmp"));
	EXPECT_EQ(2, run_daemon("--readahead-kb lots --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--readahead-kb: 'lots' is not a number from 0 to 1048576");
	EXPECT_EQ(2, run_daemon("--readahead-kb 2000000 --fscache /x --blob-dir /tmp"));
	EXPECT_EQ(2, run_daemon("--fetch-unit-kb 12 --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--fetch-unit-kb: '12' is not a power of two from 4 to 65536");
	EXPECT_EQ(2, run_daemon("--fetch-unit-kb 2 --fscache /x --blob-dir /tmp"));
	EXPECT_EQ(2, run_daemon("--log-level loud --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("--log-level: 'loud' is not one of");
	EXPECT_EQ(2, run_daemon("--frobnicate"));
	EXPECT_EQ(2, run_daemon("daemon --fscache /x --blob-dir /tmp"));
	EXPECT_OUTPUT("unexpected argument 'daemon'");
}

TEST(bad_config_names_the_file_and_field)
{
	char path[] = "/tmp/fscached-cli-XXXXXX", args[256];
	int fd = mkstemp(path);

	ASSERT_GE(fd, 0);
	close(fd);
	write_file(path, "{\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": 7}}}");
	snprintf(args, sizeof(args), "--fscache /tmp/x --config %s", path);
	EXPECT_EQ(2, run_daemon(args));
	EXPECT_OUTPUT(path);
	EXPECT_OUTPUT("backend.localfs.dir: must be a string");

	write_file(path, "{\"backend\": {\"type\": \"localfs\", \"localfs\": {\"dir\": \"/tmp\"}},"
			 " \"cache\": {\"type\": \"dummy\"}}");
	EXPECT_EQ(2, run_daemon(args));
	EXPECT_OUTPUT("cache.type: 'dummy' cannot serve /dev/cachefiles");

	snprintf(args, sizeof(args), "--fscache /tmp/x --config %s --blob-dir /tmp", path);
	EXPECT_EQ(2, run_daemon(args));
	EXPECT_OUTPUT("--blob-dir and --config both choose a backend");
	unlink(path);
}

TEST(missing_device_says_which_kernel_options)
{
	if (!access("/dev/cachefiles", F_OK))
		SKIP(return, "this kernel has /dev/cachefiles (kernel tests cover it)");
	/* Asked for by name: auto would take fanotify on such a kernel. */
#ifdef FSCACHED_HAVE_FSCACHE
	EXPECT_EQ(1, run_daemon("singleton --fscache /tmp/fscached-cli-cache --frontend cachefiles --blob-dir /tmp"));
	EXPECT_OUTPUT("cannot open /dev/cachefiles");
	EXPECT_OUTPUT("CONFIG_CACHEFILES_ONDEMAND=y");
	EXPECT_OUTPUT("Kbuild-notes.md");
#else
	EXPECT_EQ(1, run_daemon("singleton --fscache /tmp/fscached-cli-cache --frontend cachefiles --blob-dir /tmp"));
	EXPECT_OUTPUT("built without front ends");
#endif
}

TEST(a_frontend_that_does_not_exist_is_refused)
{
	EXPECT_EQ(2, run_daemon("--fscache /tmp/fscached-cli-cache --frontend fuse --blob-dir /tmp"));
	EXPECT_OUTPUT("--frontend: 'fuse' is not one of cachefiles, fanotify, auto");
}

TEST_HARNESS_MAIN
