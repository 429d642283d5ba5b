# SPDX-License-Identifier: GPL-2.0
#
# make            build netatop.ko against KDIR and the netatopd daemon
# make module     only the kernel module
# make daemon     only the daemon (cargo)
# make clean      remove what the above built
# make install    install the module, netatopd, man pages, init script and
#                 systemd units (DESTDIR, PREFIX); runs depmod when DESTDIR
#                 is empty
# make uninstall  remove them again
#
# KDIR defaults to the build tree of the running kernel. Rust-for-Linux
# needs the same compiler the kernel was built with: RUSTC, RUSTDOC and
# BINDGEN may be overridden, LLVM=1 is passed for clang-built kernels.

KVER    ?= $(shell uname -r)
KDIR    ?= /lib/modules/$(KVER)/build
LLVM    ?= 1
RUSTC   ?= rustc
RUSTDOC ?= rustdoc
BINDGEN ?= bindgen
CARGO   ?= cargo
PREFIX  ?= /usr
DESTDIR ?=

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) \
	RUSTC=$(RUSTC) RUSTDOC=$(RUSTDOC) BINDGEN=$(BINDGEN)

.PHONY: all module daemon clean install uninstall

all: module daemon

module:
	$(KMAKE) modules

daemon:
	$(CARGO) build --release --locked -p netatopd

clean:
	$(KMAKE) clean
	$(CARGO) clean

MODDIR  = $(DESTDIR)/lib/modules/$(KVER)/extra
UNITDIR = $(DESTDIR)/lib/systemd/system

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
