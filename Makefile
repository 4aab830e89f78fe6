# qwrap: plain GNU make.  `make check` runs every test, `make demo` shows the
# main job end to end; both install the Debian packages they need when run
# as root.  The compiled-in paths derive from PREFIX, SYSCONFDIR and
# LOCALSTATEDIR, so a private install under any prefix is complete.

PREFIX        ?= /usr/local
SBINDIR       ?= $(PREFIX)/sbin
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
MANDIR        ?= $(PREFIX)/share/man
DESTDIR       ?=
REAL_SENDMAIL ?= /var/qmail/bin/sendmail-qmail
QWRAP_GROUP   ?= qwrap
# Where qwrap-install --verify looks for the host's PHP and sendmail: the
# host itself, but for tests that build a host of their own.
SCANROOT      ?=

# Objects go to BUILD, so builds with other paths or sanitizers never mix.
SAN   ?=
BUILD ?= build$(if $(SAN),-san)

CONF_PATH  = $(SYSCONFDIR)/qwrap/qwrap.conf
FREEZE_PATH = $(SYSCONFDIR)/qwrap/freeze
LOG_PATH   = $(LOCALSTATEDIR)/log/qwrap/capture.log
STATE_DIR  = $(LOCALSTATEDIR)/lib/qwrap
SPOOL_DIR  = $(LOCALSTATEDIR)/spool/qwrap

CC      ?= cc
CFLAGS  ?= -O2 -g
WERROR  ?= -Werror
# Messages are cut to their buffers on purpose: truncation is not a bug here.
WARN     = -std=c11 -Wall -Wextra -Wformat=2 -Wshadow -Wno-format-truncation $(WERROR)
# The wrapper is linked static-pie: no run-time loader work on each of the
# thousands of execs an hour, and no loader environment to worry about.
ifeq ($(SAN),1)
HARDEN   = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDHARDEN = -fsanitize=address,undefined
WRAPPER_LDFLAGS = $(LDHARDEN)
else
HARDEN   = -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fstack-clash-protection -fPIE
LDHARDEN = -pie -Wl,-z,relro,-z,now
WRAPPER_LDFLAGS = -static-pie -Wl,-z,relro,-z,now
endif
PATHS    = -DQWRAP_CONF_PATH='"$(CONF_PATH)"' -DQWRAP_LOG_PATH='"$(LOG_PATH)"' \
           -DQWRAP_FREEZE_PATH='"$(FREEZE_PATH)"' \
           -DQWRAP_STATE_DIR='"$(STATE_DIR)"' -DQWRAP_SPOOL_DIR='"$(SPOOL_DIR)"' \
           -DQWRAP_REAL_SENDMAIL='"$(REAL_SENDMAIL)"' -DQWRAP_SBINDIR='"$(SBINDIR)"' \
           -DQWRAP_SCAN_ROOT='"$(SCANROOT)"'
# Each program sees only its own headers and common/'s: the boundaries are the build's.
INC = -Icommon -Iwrapper -Iinstaller -Itools
$(BUILD)/common/%.o: INC = -Icommon
$(BUILD)/wrapper/%.o: INC = -Icommon -Iwrapper
$(BUILD)/tools/%.o: INC = -Icommon -Itools
$(BUILD)/installer/%.o: INC = -Icommon -Iinstaller
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE $(HARDEN) $(CFLAGS) $(PATHS) $(INC)
ALL_LDFLAGS = $(LDHARDEN) $(LDFLAGS)

# common/ goes in as an archive: each program links only the objects it uses.
COMMON_SRC  = common/config.c common/freeze.c common/json.c common/record.c common/iofull.c common/sha256.c \
              common/state.c common/spool.c common/number.c common/target.c \
              common/message.c common/classify.c common/sanitize.c common/pathclean.c
WRAPPER_SRC = wrapper/caller.c wrapper/origin.c wrapper/idheader.c wrapper/logfile.c wrapper/deliver.c \
              wrapper/ratelimit.c wrapper/hold.c wrapper/notify.c wrapper/smtp.c \
              wrapper/relay.c wrapper/fpmstatus.c wrapper/keeper.c wrapper/kproto.c \
              wrapper/kencode.c wrapper/heldfile.c wrapper/split.c wrapper/run.c wrapper/mode_message.c \
              wrapper/mode_smtp.c
COMMON_OBJ  = $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_LIB  = $(BUILD)/libqwrap.a
WRAPPER_OBJ = $(WRAPPER_SRC:%.c=$(BUILD)/%.o)

PROGRAMS = $(BUILD)/qwrap-sendmail $(BUILD)/qwrap $(BUILD)/qwrap-install
UNITS    = classify json record idheader message caller config logfile state ratelimit smtp fpmstatus keeper \
           freeze \
           logread pathclean
UNIT_BIN = $(UNITS:%=$(BUILD)/tests/test_%)
HELPERS  = $(BUILD)/standin $(BUILD)/launch

.PHONY: FORCE all check test unit integration install uninstall demo bench bench-fleet fuzz clean deps deb rpm

all: $(PROGRAMS)

$(BUILD)/%.o: %.c $(wildcard common/*.h wrapper/*.h installer/*.h tools/*.h tests/unit/*.h) $(BUILD)/flags.stamp
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The paths are compiled in: everything is rebuilt when they or the flags change.
STAMP = $(CONF_PATH) $(FREEZE_PATH) $(LOG_PATH) $(STATE_DIR) $(SPOOL_DIR) $(REAL_SENDMAIL) $(SBINDIR) $(SCANROOT) $(CC) \
        $(CFLAGS) $(HARDEN) $(LDHARDEN) $(WRAPPER_LDFLAGS) $(LDFLAGS)
$(BUILD)/flags.stamp: FORCE
	@mkdir -p $(@D)
	@echo "$(STAMP)" | cmp -s - $@ || echo "$(STAMP)" > $@
FORCE:

$(COMMON_LIB): $(COMMON_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/qwrap-sendmail: $(BUILD)/wrapper/main.o $(WRAPPER_OBJ) $(COMMON_LIB) $(BUILD)/flags.stamp
	$(CC) $(WRAPPER_LDFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lconfig

REPORT_SRC = tools/jsonread.c tools/logread.c tools/filter.c tools/vhost.c tools/tally.c \
             tools/report.c tools/rate.c tools/tail.c tools/queue.c tools/scan.c tools/purge.c tools/quarantine.c tools/restore.c tools/rewrite.c tools/qmailsend.c
REPORT_OBJ = $(REPORT_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ = $(BUILD)/tools/qwrap.o $(BUILD)/tools/held.o $(BUILD)/tools/freezecmd.o $(REPORT_OBJ)
$(BUILD)/qwrap: $(TOOL_OBJ) $(COMMON_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lconfig -lz

INSTALLER_SRC = installer/main.c installer/util.c installer/setup.c installer/swap.c \
                installer/schedule.c installer/verify.c installer/phpscan.c
$(BUILD)/qwrap-install: $(INSTALLER_SRC:%.c=$(BUILD)/%.o) $(COMMON_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lconfig

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(WRAPPER_OBJ) $(REPORT_OBJ) $(COMMON_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -lcmocka -lconfig -ljson-c -lz

$(BUILD)/standin: $(BUILD)/tests/standin/standin.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

$(BUILD)/launch: $(BUILD)/tests/tools/launch.o
	$(CC) $(ALL_LDFLAGS) -o $@ $^

# Debian packages the build and tests need; installed when run as root.
deps:
	@sh tests/deps.sh

# Every test: unit drivers, integration against a private install, the same
# again under ASan and UBSan, and a short run of each fuzzer.
check: deps
	@sh tests/check.sh

test: check

unit: $(UNIT_BIN)
	@rc=0; for t in $(UNIT_BIN); do $$t || rc=1; done; exit $$rc

integration: $(PROGRAMS) $(HELPERS)
	python3 tests/integration/run.py --build $(BUILD) $(if $(SAN),--san)

install: $(PROGRAMS)
	@REAL_SENDMAIL="$(REAL_SENDMAIL)" sh installer/install.sh "$(DESTDIR)" "$(SBINDIR)" "$(MANDIR)" "$(SYSCONFDIR)" \
	    "$(LOCALSTATEDIR)" "$(BUILD)" "$(QWRAP_GROUP)"

uninstall:
	@sh installer/uninstall.sh "$(DESTDIR)" "$(SBINDIR)" "$(MANDIR)" "$(SYSCONFDIR)" "$(LOCALSTATEDIR)"

demo: deps
	@sh tests/demo.sh

# Packages, built from a copy of the tree (the build directories and .git left
# out) so that what they hold is the source and only the source:
# build/deb/qwrap_VERSION_ARCH.deb and build/rpm/RPMS/ARCH/qwrap-VERSION-1.ARCH.rpm.
VERSION = $(shell awk -F'[()]' 'NR == 1 { print $$2 }' debian/changelog)
SOURCE_TAR = tar --exclude='./build' --exclude='./build-*' --exclude='./.git' -cf - .
deb:
	rm -rf build/deb && mkdir -p build/deb/qwrap-$(VERSION)
	$(SOURCE_TAR) | tar -C build/deb/qwrap-$(VERSION) -xf -
	cd build/deb/qwrap-$(VERSION) && dpkg-buildpackage -us -uc -b
	@ls build/deb/*.deb

rpm:
	rm -rf build/rpm && mkdir -p build/rpm/SOURCES build/rpm/src/qwrap-$(VERSION)
	$(SOURCE_TAR) | tar -C build/rpm/src/qwrap-$(VERSION) -xf -
	tar -C build/rpm/src -czf build/rpm/SOURCES/qwrap-$(VERSION).tar.gz qwrap-$(VERSION)
	rpmbuild -bb --nodeps --define "_topdir $(CURDIR)/build/rpm" qwrap.spec
	@ls build/rpm/RPMS/*/*.rpm

bench: deps
	@python3 tests/bench/bench.py
	@python3 tests/bench/report_bench.py
	@python3 tests/bench/scan_bench.py
	@python3 tests/bench/smtp_bench.py

# The central view of a fleet: qwrap top over 10 million records (about 5 GB
# in /tmp, 20 minutes), against jq.
bench-fleet: deps
	@python3 tests/bench/report_bench.py --fleet

FUZZ_SECONDS ?= 60
fuzz: deps
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-san build-* 
