# SPDX-License-Identifier: GPL-2.0
#
# make            build netatop.ko against KDIR and the netatopd daemon
# make module     only the kernel module
# make dkms       the kernel module as DKMS builds it: against KDIR, or
#                 when KDIR lacks the kernel's Rust metadata (Debian's
#                 headers), against a tree tools/rust-kbuild.sh makes from
#                 the kernel's source package
# make daemon     only the daemon (cargo)
# make clean      remove what the above built (clean-module: only the
#                 kernel module's files, without cargo)
# make install    install the module, netatopd, man pages, init script and
#                 systemd units (DESTDIR, PREFIX, SYSTEMDUNITDIR); runs depmod when DESTDIR
#                 is empty
# make uninstall  remove them again
#
# KDIR defaults to the build tree of the running kernel. Rust-for-Linux
# needs the very compiler the kernel was built with: tools/kernel-toolchain.sh
# finds it (and LLVM=1 for clang-built kernels) from the kernel's recorded
# configuration; RUSTC, RUSTDOC and LLVM override it.

KVER    ?= $(shell uname -r)
KDIR    ?= /lib/modules/$(KVER)/build
CARGO   ?= cargo
PREFIX  ?= /usr
DESTDIR ?=
# Where systemd looks for packaged units (pkg-config systemd: systemdsystemunitdir).
SYSTEMDUNITDIR ?= /lib/systemd/system

.PHONY: all module dkms daemon clean clean-module install uninstall

all: module daemon

module:
	@tools=$$(sh '$(CURDIR)/tools/kernel-toolchain.sh' '$(KDIR)') && \
	echo "netatop: building for $(KDIR) with $$tools" && \
	$(MAKE) -C '$(KDIR)' M='$(CURDIR)' $$tools modules

dkms:
	@kdir=$$(sh '$(CURDIR)/tools/rust-kbuild.sh' '$(KVER)' '$(KDIR)') && \
	$(MAKE) module KDIR="$$kdir"

daemon:
	$(CARGO) build --release --locked -p netatopd

clean: clean-module
	$(CARGO) clean

clean-module:
	$(MAKE) -C '$(KDIR)' M='$(CURDIR)' clean

MODDIR  = $(DESTDIR)/lib/modules/$(KVER)/extra
UNITDIR = $(DESTDIR)$(SYSTEMDUNITDIR)

install:
	install -D -m 644 netatop.ko $(MODDIR)/netatop.ko
	install -D -m 755 target/release/netatopd $(DESTDIR)$(PREFIX)/sbin/netatopd
	install -D -m 644 man/netatop.4 $(DESTDIR)$(PREFIX)/share/man/man4/netatop.4
	install -D -m 644 man/netatopd.8 $(DESTDIR)$(PREFIX)/share/man/man8/netatopd.8
	install -D -m 755 netatop.init $(DESTDIR)/etc/init.d/netatop
	install -D -m 644 packaging/netatop.service $(UNITDIR)/netatop.service
	install -D -m 644 packaging/netatopd.service $(UNITDIR)/netatopd.service
	if [ -z "$(DESTDIR)" ]; then depmod $(KVER); fi

uninstall:
	rm -f $(MODDIR)/netatop.ko $(DESTDIR)$(PREFIX)/sbin/netatopd \
		$(DESTDIR)$(PREFIX)/share/man/man4/netatop.4 \
		$(DESTDIR)$(PREFIX)/share/man/man8/netatopd.8 \
		$(DESTDIR)/etc/init.d/netatop \
		$(UNITDIR)/netatop.service $(UNITDIR)/netatopd.service
	if [ -z "$(DESTDIR)" ]; then depmod $(KVER); fi
