# Builds and installs bedup.
#
#   make                      ./bedup: static, stripped, version from git
#   make install              as root; PREFIX=/usr/local, DESTDIR= for staging
#   make uninstall            removes what install put there
#   make man                  regenerates docs/man from the commands
#   make test                 the whole test suite (bash scripts/test)
#
# "bedup --version" prints VERSION and REVISION: by default the checkout's
# last tag (none yet: the build info's "(devel)") and its commit (-dirty
# with uncommitted changes), read with git, which also works in git
# worktrees, where Go's own VCS stamping finds no repository. Packagers set
# them: make VERSION=1.2 REVISION=….

GO ?= go
PREFIX ?= /usr/local
DESTDIR ?=
BIN ?= bedup
VERSION ?= $(shell git describe --tags --abbrev=0 2>/dev/null)
REVISION ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

sbindir = $(PREFIX)/sbin
man8dir = $(PREFIX)/share/man/man8
bashcompdir = $(PREFIX)/share/bash-completion/completions
zshcompdir = $(PREFIX)/share/zsh/site-functions
fishcompdir = $(PREFIX)/share/fish/vendor_completions.d
unitdir = $(PREFIX)/lib/systemd/system

# Static (no cgo: pflag imports net, which would otherwise link the C
# resolver), reproducible paths, no symbol table or DWARF.
LDFLAGS = -s -w
ifneq ($(VERSION),)
LDFLAGS += -X github.com/bedup/bedup/internal/cli.Version=$(VERSION)
endif
ifneq ($(REVISION),)
LDFLAGS += -X github.com/bedup/bedup/internal/cli.Revision=$(REVISION)
endif
BUILDFLAGS = -trimpath -ldflags '$(LDFLAGS)'

UNITS = bedup.service bedup.timer bedup-watch.service
MANPAGES = $(notdir $(wildcard docs/man/*.8))

.PHONY: all install uninstall man test FORCE

all: $(BIN)

# Go decides what is out of date; make always asks it.
$(BIN): FORCE
	CGO_ENABLED=0 $(GO) build $(BUILDFLAGS) -o $@ ./cmd/bedup

install: $(BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(sbindir)/bedup
	install -d $(DESTDIR)$(man8dir)
	install -m 0644 $(addprefix docs/man/,$(MANPAGES)) $(DESTDIR)$(man8dir)/
	install -d $(DESTDIR)$(bashcompdir) $(DESTDIR)$(zshcompdir) $(DESTDIR)$(fishcompdir)
	$(abspath $(BIN)) completion bash >$(DESTDIR)$(bashcompdir)/bedup
	$(abspath $(BIN)) completion zsh >$(DESTDIR)$(zshcompdir)/_bedup
	$(abspath $(BIN)) completion fish >$(DESTDIR)$(fishcompdir)/bedup.fish
	install -d $(DESTDIR)$(unitdir)
	for u in $(UNITS); do \
		sed 's|/usr/local/sbin/|$(sbindir)/|g' contrib/systemd/$$u >$(DESTDIR)$(unitdir)/$$u && \
		chmod 0644 $(DESTDIR)$(unitdir)/$$u || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(sbindir)/bedup
	rm -f $(DESTDIR)$(man8dir)/bedup.8 $(DESTDIR)$(man8dir)/bedup-*.8
	rm -f $(DESTDIR)$(bashcompdir)/bedup $(DESTDIR)$(zshcompdir)/_bedup $(DESTDIR)$(fishcompdir)/bedup.fish
	rm -f $(addprefix $(DESTDIR)$(unitdir)/,$(UNITS))

man:
	$(GO) run ./internal/manpage/genman docs/man

test:
	bash scripts/test

FORCE:
