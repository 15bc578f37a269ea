# gort: the top-level Makefile. Each stage under stages/NN-name/ is a complete
# runtime with a Makefile of its own (all, test, valgrind, bench, clean, and
# SAN=address|thread); this file runs them all and adds the repository checks.
#
#   make                   build every stage
#   make test              every stage's tests, then the repository checks;
#                          ends with the line "N passed, N failed"
#   make test SANITIZERS=1 also each stage under ASan+UBSan, TSan and valgrind
#   make test VALGRIND=1   also each stage's examples under valgrind
#   make check             the repository checks only (lineage, asserts, ...)
#   make bench             every stage's benchmarks, one stage after another
#   make labs              run the labs and draw their plots (FULL=1: full sweeps)
#   make lab LAB=name      one lab (gomaxprocs, leak-detection, cost, timeline,
#                          preemption)
#   make book              build the book
#   make handout DEST=dir  the students' copy: the repository without
#                          solutions/ and the checks that use them
#                          (exercises/lib/handout.sh)
#   make deps              install what every job needs (scripts/deps.sh all)
#   make clean
#
#   STAGE=01               restrict to stages/01-* (any target)
#   JOB_TIMEOUT=1800       seconds allowed to each test job (a last resort: tests
#                          have their own timeouts)
#
# `make -j2 test` is safe: stages and sanitizer builds run side by side, each
# job's output goes to build/logs/ and is printed whole when the job ends.

SHELL := /bin/bash
.DEFAULT_GOAL := all
MAKEFLAGS += --no-print-directory

ALL_STAGES := $(patsubst %/,%,$(sort $(wildcard stages/[0-9][0-9]-*/)))
ifneq ($(STAGE),)
  STAGES := $(filter stages/$(STAGE)-% stages/$(STAGE),$(ALL_STAGES))
  ifeq ($(STAGES),)
    $(error STAGE=$(STAGE) matches no stages/$(STAGE)-* directory; there are: $(notdir $(ALL_STAGES)))
  endif
else
  STAGES := $(ALL_STAGES)
endif
NAMES  := $(notdir $(STAGES))

LOGDIR := build/logs
RUNJOB := bash scripts/run-job.sh
SANS   := $(if $(filter 1 yes true,$(SANITIZERS)),address thread)
VG     := $(if $(filter 1 yes true,$(SANITIZERS) $(VALGRIND)),1)

.PHONY: all test check bench labs lab book clean deps valgrind test-jobs check-jobs handout \
        deps-test deps-bench deps-labs deps-book

# ---- dependencies: checked once per make run, and not again in sub-makes ----
deps-test deps-bench deps-labs deps-book:
	@$(if $(GORT_DEPS_CHECKED),:,bash scripts/deps.sh $(@:deps-%=%))

deps:
	@bash scripts/deps.sh all

# ---- build ----
BUILD_JOBS := $(addprefix all.,$(NAMES)) \
              $(foreach s,$(SANS),$(addprefix all-$(s).,$(NAMES)))
.PHONY: $(BUILD_JOBS)

all: $(BUILD_JOBS)
$(filter all.%,$(BUILD_JOBS)): all.%: deps-test
	+$(MAKE) -C stages/$* all
$(filter all-address.%,$(BUILD_JOBS)): all-address.%: deps-test
	+$(MAKE) -C stages/$* SAN=address all
$(filter all-thread.%,$(BUILD_JOBS)): all-thread.%: deps-test
	+$(MAKE) -C stages/$* SAN=thread all

# ---- test: every job's output captured, then summed by scripts/summary.sh ----
# A stage job counts the stage's own tests; a check counts as 1 passed or 1
# failed. Jobs never fail make; the summary's exit status does.
STAGE_JOBS := $(addprefix test.,$(NAMES)) \
              $(foreach s,$(SANS),$(addprefix $(s).,$(NAMES))) \
              $(if $(VG),$(addprefix valgrind.,$(NAMES)))
CHECK_JOBS := check.lineage check.asserts check.api \
              $(if $(wildcard exercises/check-integrity.sh),check.exercises) \
              $(if $(wildcard exercises/lib/selftest.sh),check.grader) \
              $(if $(wildcard labs/check.sh),check.labs) \
              $(if $(wildcard book/Makefile),check.book)
.PHONY: $(STAGE_JOBS) $(CHECK_JOBS)

test: deps-test
	@rm -rf $(LOGDIR) && mkdir -p $(LOGDIR)
	@printf '%s\n' $(STAGE_JOBS) $(CHECK_JOBS) >$(LOGDIR)/expected
	+@$(MAKE) GORT_DEPS_CHECKED=1 test-jobs || true
	@bash scripts/summary.sh $(LOGDIR)

check: deps-test
	@rm -rf $(LOGDIR) && mkdir -p $(LOGDIR)
	@printf '%s\n' $(CHECK_JOBS) >$(LOGDIR)/expected
	+@$(MAKE) GORT_DEPS_CHECKED=1 check-jobs || true
	@bash scripts/summary.sh $(LOGDIR)

test-jobs: $(STAGE_JOBS) $(CHECK_JOBS)
check-jobs: $(CHECK_JOBS)

$(filter test.%,$(STAGE_JOBS)): test.%:
	+@$(RUNJOB) counted $(LOGDIR) $@ "$* test" -- $(MAKE) -C stages/$* test
$(filter address.%,$(STAGE_JOBS)): address.%:
	+@$(RUNJOB) counted $(LOGDIR) $@ "$* SAN=address test" -- $(MAKE) -C stages/$* SAN=address test
$(filter thread.%,$(STAGE_JOBS)): thread.%:
	+@$(RUNJOB) counted $(LOGDIR) $@ "$* SAN=thread test" -- $(MAKE) -C stages/$* SAN=thread test
# valgrind uses the plain build in build/, so it waits for the plain test job.
$(filter valgrind.%,$(STAGE_JOBS)): valgrind.%: test.%
	+@$(RUNJOB) counted $(LOGDIR) $@ "$* valgrind" -- $(MAKE) -C stages/$* valgrind

check.lineage:
	@$(RUNJOB) check $(LOGDIR) $@ "check: stage lineage" -- bash scripts/check-lineage.sh
check.asserts:
	@$(RUNJOB) check $(LOGDIR) $@ "check: every test asserts" -- bash scripts/check-asserts.sh
check.api:
	@$(RUNJOB) check $(LOGDIR) $@ "check: API.md and every stage's gort.h agree" -- bash scripts/check-api.sh
check.exercises:
	@$(RUNJOB) check $(LOGDIR) $@ "check: exercise integrity" -- bash exercises/check-integrity.sh
check.grader:
	@$(RUNJOB) check $(LOGDIR) $@ "check: the grader's selftest" -- bash exercises/lib/selftest.sh
check.labs:
	@$(RUNJOB) check $(LOGDIR) $@ "check: labs (smoke run, TSV and plots)" -- bash labs/check.sh
check.book:
	+@$(RUNJOB) check $(LOGDIR) $@ "check: book" -- $(MAKE) -C book check

# ---- valgrind, bench: straight through, one stage after another ----
valgrind: deps-test
	@rc=0; for s in $(STAGES); do $(MAKE) -C $$s valgrind || rc=1; done; exit $$rc

# Then the stages side by side at GOMAXPROCS=2, a spawn-heavy and a
# channel-heavy workload, Go beside them (scripts/bench-stages.sh).
bench: deps-bench
	@rc=0; for s in $(STAGES); do \
	   echo "== $$s: bench"; $(MAKE) -C $$s bench || { echo "== $$s: bench FAILED"; rc=1; }; \
	 done; \
	 nums="$(foreach n,$(NAMES),$(firstword $(subst -, ,$(n))))"; \
	 if [ $$(echo $$nums | wc -w) -ge 2 ]; then \
	   for w in spawn chan_pingpong:pingpong; do \
	     echo "== stages side by side: $$w"; bash scripts/bench-stages.sh 2 $$w $$nums || rc=1; \
	   done; fi; exit $$rc

# ---- labs and the book ----
# The labs (labs/README.md): each sweeps its parameters over every stage
# that builds, beside Go, and draws its plots into labs/NAME/results/.
# Quick mode by default (a few minutes on 2 cores); FULL=1 the full sweeps.
labs:
	@bash scripts/deps.sh labs && FULL=$(FULL) bash labs/run.sh

lab:
	@if [ -z "$(LAB)" ]; then echo "usage: make lab LAB=name (labs: $$(cd labs && ls -d */ | tr -d / | tr '\n' ' '))" >&2; exit 2; fi
	@bash scripts/deps.sh labs && FULL=$(FULL) bash labs/run.sh "$(LAB)"

handout:
	@if [ -z "$(DEST)" ]; then echo "usage: make handout DEST=dir (a new or empty directory outside the repository)" >&2; exit 2; fi
	@if [ ! -f exercises/lib/handout.sh ]; then echo "make handout: this is already a handout (no exercises/lib/handout.sh)" >&2; exit 2; fi
	@bash exercises/lib/handout.sh "$(DEST)"

book:
	@if [ -f book/Makefile ]; then bash scripts/deps.sh book && $(MAKE) -C book; \
	 else echo "make book: the book does not exist yet (book/Makefile is coming); nothing to build."; fi

clean:
	@for s in $(STAGES); do $(MAKE) -C $$s clean; done
	rm -rf build
