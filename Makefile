# SPDX-License-Identifier: GPL-2.0
#
#   make                  build build/fscached
#   make check            build, then run every test (unit, NO_FSCACHE, ASan+UBSan,
#                         fuzz replays and a short fuzz run, kernel in UML)
#   make bench            benchmark fscached against the alternatives (qemu guest, else UML)
#   make demo             mount a sample image lazily and show what was fetched
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make NO_FSCACHE=1     build without the front ends (the engine and API only)
#   make SANITIZE=1       build with ASan + UBSan
#   make fuzz             build the libFuzzer targets (clang) in build/fuzz
#   make fuzz-run         run each for FUZZ_SECONDS (default 60), keep crashes
#   make V=1              show the commands

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= /sbin
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= $(PREFIX)/lib/systemd/system
CC       ?= cc
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

ifeq ($(SANITIZE),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SUFFIX   := /san
endif
# libFuzzer: clang, everything instrumented, targets linked with -fsanitize=fuzzer.
ifeq ($(FUZZ),1)
CC       := clang
BUILD    := build/fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ifeq ($(NO_FSCACHE),1)
BUILD    ?= build/nofscache$(SUFFIX)
else
BUILD    ?= build$(SUFFIX)
FEATURES := -DFSCACHED_HAVE_FSCACHE
endif

# liburing is only for the /dev/cachefiles front end.
ifeq ($(NO_FSCACHE),1)
PKGS     := json-c libcrypto libcurl libmicrohttpd libnl-route-3.0 liblz4 libzstd zlib libblake3 libisal
else
PKGS     := json-c libcrypto libcurl libmicrohttpd libnl-route-3.0 liblz4 libzstd zlib libblake3 libisal liburing
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo $(PKGS:%=-l%) | sed 's/-llib/-l/g')
# The daemon maps these on first use (src/lib/dlib.h): an idle daemon has
# none of them, nor the 30 libraries that they pull in.
DL_PKGS    := libcrypto libcurl libmicrohttpd
DAEMON_PKGS := $(filter-out $(DL_PKGS),$(PKGS))
DAEMON_LIBS := $(shell pkg-config --libs $(DAEMON_PKGS) 2>/dev/null || echo $(DAEMON_PKGS:%=-l%) | sed 's/-llib/-l/g')

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	    -Wmissing-prototypes -Wstrict-prototypes
# gcc warns of snprintf truncation that the code checks for; clang has no such
# option.
ifneq ($(FUZZ),1)
WARN     += -Wno-format-truncation
endif
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) $(FEATURES) \
	    -D_GNU_SOURCE -DFSCACHED_VERSION='"$(VERSION)"' \
	    -I. -Isrc -Itests/harness -Itests/kernel -Itests/backend -MMD -MP $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SANFLAGS) -pthread

LIB_SRCS := src/lib/dlib.c src/lib/crypto_dl.c src/lib/digest.c src/lib/fileio.c src/lib/fs_type.c src/lib/errmsg.c src/image/bootstrap.c src/image/bootstrap_inline.c src/image/bootstrap_prefetch.c src/format/rafs.c src/format/blob_meta.c src/format/decompress.c src/format/erofs_inode.c src/format/toc.c \
	    src/lib/log.c src/backend/netwatch.c src/service/notify.c src/lib/fdpass.c src/service/supervisor.c src/service/handover.c src/service/daemon.c src/lib/blob_id.c src/format/erofs.c src/config/config.c src/config/config_edit.c src/cache/factory.c src/lib/workqueue.c src/lib/io_buf.c \
	    src/backend/backend.c src/backend/localfs.c src/backend/sign.c src/backend/curl_dl.c \
	    src/backend/http_client.c src/backend/http_net.c src/backend/http_config.c src/backend/www_auth.c \
	    src/backend/remote.c src/backend/http.c src/backend/registry.c \
	    src/backend/s3.c src/backend/oss.c src/api/server.c src/api/mhd_dl.c src/api/routes.c src/api/blobs.c src/api/mounts.c src/image/bindings.c \
	    src/cache/cache_mgr.c src/cache/dummy.c src/cache/range_lock.c src/cache/serve.c \
	    src/cache/readahead.c src/cache/fill_group.c src/cache/prefetch.c src/cache/verify.c \
	    src/cache/filecache.c src/cache/nydus.c src/cache/nydus_meta.c
ifneq ($(NO_FSCACHE),1)
LIB_SRCS += src/frontend/cachefiles/cachefiles.c src/frontend/cachefiles/requests.c \
	    src/frontend/cachefiles/cachefiles_msg.c src/frontend/cachefiles/device.c src/frontend/cachefiles/cull.c src/frontend/cachefiles/recheck.c src/frontend/cachefiles/space.c src/frontend/cachefiles/space_index.c \
	    src/frontend/cachefiles/objects.c src/frontend/fanotify/group.c src/frontend/fanotify/files.c \
	    src/frontend/fanotify/serve.c src/frontend/fanotify/mount.c src/frontend/fanotify/journal.c \
	    src/frontend/fanotify/state.c src/frontend/fanotify/space.c \
	    src/frontend/fanotify/mount_sys.c
else
# The message parser is plain C and stays testable everywhere.
LIB_SRCS += src/frontend/cachefiles/cachefiles_msg.c
endif
# So are the front-end choice and the fanotify event parser.
LIB_SRCS += src/frontend/frontend.c src/frontend/fanotify/event.c src/space/watermarks.c src/space/culler.c
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libfscached.a

HARNESS_OBJ := $(BUILD)/tests/harness/harness.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
ifeq ($(NO_FSCACHE),1)
UNIT_SRCS := $(filter-out tests/unit/test_cachefiles_requests.c,$(UNIT_SRCS))
endif
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
BTEST_SRCS := $(wildcard tests/backend/test_*.c)
BTEST_BINS := $(BTEST_SRCS:%.c=$(BUILD)/%)
BTEST_LIB  := $(BUILD)/tests/backend/srv.o
KTEST_SRCS := $(wildcard tests/kernel/test_*.c)
KTEST_BINS := $(KTEST_SRCS:%.c=$(BUILD)/%) $(BUILD)/tests/kernel/probe_ondemand
KTEST_LIB  := $(BUILD)/tests/kernel/ktest.o $(BUILD)/tests/kernel/holder.o $(BUILD)/tests/kernel/kimage.o \
	      $(BUILD)/tests/kernel/kread.o
TOOL_BINS  := $(BUILD)/tools/erofs-set-tag $(BUILD)/tools/bench/start-time
# Fuzz targets: libFuzzer binaries (make fuzz), and in every build a replay
# of their kept corpus and crashes, run as tests.
FUZZ_NAMES  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(FUZZ_NAMES:%=$(BUILD)/fuzzers/%)
REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/fuzz/replay_%)

ifneq ($(V),1)
Q := @
endif

all: $(BUILD)/fscached $(BUILD)/fscachectl $(BUILD)/mount.fscached

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fscachectl: $(BUILD)/src/ctl/fscachectl.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

# mount(8) runs /sbin/mount.fscached for "mount -t fscached": fscachectl
# under that name.
$(BUILD)/mount.fscached: $(BUILD)/fscachectl
	$(Q)ln -sf fscachectl $@

$(BUILD)/fscached: $(BUILD)/src/main.o $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(DAEMON_LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(HARNESS_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS) -lcrypto

$(BUILD)/tests/backend/%: $(BUILD)/tests/backend/%.o $(BTEST_LIB) $(HARNESS_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS) -lcrypto

$(BUILD)/tests/kernel/%: $(BUILD)/tests/kernel/%.o $(KTEST_LIB) $(BTEST_LIB) $(HARNESS_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS) -lcrypto

$(BUILD)/tools/%: tools/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/tests/harness/%: $(BUILD)/tests/harness/%.o $(HARNESS_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDFLAGS)

$(BUILD)/tests/fuzz/replay_%: tests/fuzz/replay.c $(BUILD)/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DFUZZ_NAME='"$*"' -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/fuzzers/%: $(BUILD)/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(ALL_LDFLAGS) $(PKG_LIBS)

HARNESS_BINS := $(BUILD)/tests/harness/selftest $(BUILD)/tests/harness/selftest-fail
unit-tests: $(UNIT_BINS) $(HARNESS_BINS) $(REPLAY_BINS)
fuzzers: $(FUZZ_BINS)
backend-tests: $(BTEST_BINS)
kernel-tests: $(BUILD)/fscached $(KTEST_BINS) $(TOOL_BINS)

# Every test run ends with one "N passed, N failed, N skipped" line.
# The ASan+UBSan build is always part of it: `make check SANITIZE=1` is the
# same run (each configuration below sets its own SANITIZE and NO_FSCACHE).
check: deps
	$(Q)$(MAKE) --no-print-directory SANITIZE= NO_FSCACHE= all unit-tests backend-tests kernel-tests
	$(Q)$(MAKE) --no-print-directory SANITIZE= NO_FSCACHE=1 all unit-tests
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 NO_FSCACHE= all unit-tests backend-tests
	$(Q)$(MAKE) --no-print-directory SANITIZE= NO_FSCACHE= FUZZ=1 fuzzers
	$(Q)tests/run-all

check-unit: deps
	$(Q)$(MAKE) --no-print-directory all unit-tests
	$(Q)tests/harness/run-tests $(UNIT_BINS)

fuzz: deps
	$(Q)$(MAKE) --no-print-directory FUZZ=1 fuzzers

fuzz-run: fuzz
	$(Q)tests/fuzz/run

check-kernel: deps
	$(Q)$(MAKE) --no-print-directory kernel-tests
	$(Q)tests/kernel/run $(BUILD)

# The kernel matrix: each qemu kernel, then UML. Every one is run; the
# target fails if any did.
KERNELS ?= 6.12 6.1 stock uml-7.3
check-kernels: deps
	$(Q)$(MAKE) --no-print-directory kernel-tests
	$(Q)tests/kernel/run-matrix $(BUILD) $(KERNELS)

qemu-kernels:
	$(Q)for k in $(KERNELS); do \
		case $$k in stock) tools/qemu/stock ;; uml-*) tools/uml/build $${k#uml-} ;; \
		*) tools/qemu/build $$k ;; esac || exit 1; \
	done

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BINS)
	$(Q)tools/bench/run $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BINS)
	$(Q)tools/demo $(BUILD)

deps:
	$(Q)tools/install-deps --check-or-install

uml-kernel:
	$(Q)tools/uml/build

install: all
	install -D -m 0755 $(BUILD)/fscached $(DESTDIR)$(BINDIR)/fscached
	install -D -m 0755 $(BUILD)/fscachectl $(DESTDIR)$(BINDIR)/fscachectl
	install -d $(DESTDIR)$(SBINDIR)
	ln -sf $(BINDIR)/fscachectl $(DESTDIR)$(SBINDIR)/mount.fscached
	install -D -m 0644 Documentation/man/fscached.8 $(DESTDIR)$(MANDIR)/man8/fscached.8
	install -D -m 0644 Documentation/man/fscachectl.1 $(DESTDIR)$(MANDIR)/man1/fscachectl.1
	install -D -m 0644 Documentation/man/fscached.json.5 $(DESTDIR)$(MANDIR)/man5/fscached.json.5
	sed 's|/usr/local/bin|$(BINDIR)|' tools/systemd/fscached.service | \
		install -D -m 0644 /dev/stdin $(DESTDIR)$(UNITDIR)/fscached.service

clean:
	rm -rf build

.PHONY: all check check-unit check-kernel check-kernels qemu-kernels unit-tests kernel-tests bench demo deps \
	uml-kernel install clean fuzz fuzz-run fuzzers
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
