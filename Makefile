# SPDX-License-Identifier: GPL-2.0
#
# make            build netatop.ko against KDIR and the netatopd daemon
# make module     only the kernel module
# make daemon     only the daemon (cargo)
# make clean      remove what the above built
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

KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=$(LLVM) \
	RUSTC=$(RUSTC) RUSTDOC=$(RUSTDOC) BINDGEN=$(BINDGEN)

.PHONY: all module daemon clean

all: module daemon

module:
	$(KMAKE) modules

daemon:
	$(CARGO) build --release --locked -p netatopd

clean:
	$(KMAKE) clean
	$(CARGO) clean
