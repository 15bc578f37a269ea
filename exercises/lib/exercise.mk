# exercises/lib/exercise.mk: the build and grading of one exercise.
#
# An exercise's Makefile names its stage and the files the student edits,
# then includes this file:
#
#     STAGE   := 01-single-queue
#     STUDENT := rwmutex.h rwmutex.c
#     include ../../lib/exercise.mk
#
# What it does:
#   1. Builds the stage's runtime out of tree (lib/stage.mk), once per stage
#      for all exercises, into exercises/build/stages/STAGE/. stages/ is only
#      read.
#   1b. An exercise about code that sits inside a big stage file (proc.c)
#      names a seam, STAGE_PATCH: the stage is first copied and patched
#      out of tree so that code stands in a file of its own (lib/seam.sh).
#   2. Compiles the student's .c files against the stage's headers, both the
#      public include/gort.h and the internal src/*.h (an exercise about the
#      internals uses src/runtime2.h). A student file named like a stage
#      source (sema.c) REPLACES that source; any other file is ADDED.
#   3. Links tests/*.c (written with lib/grade.h) with both into
#      build/starter/grade-tests, and runs lib/grade.sh on it: one process
#      per test, each under a timeout, one PASS/FAIL line each, a score.
#
# Targets: all (build), test (build and grade), clean.
# Variables:
#   SOLUTION=1   grade the reference solution (solutions/STAGE/EXERCISE/)
#                instead of the student's files; built in build/solution/
#   IMPL_DIR=D   grade the files in directory D instead (the integrity check
#                uses it); built in build/custom/
#   STAGE_SRC=D  build against another copy of the stage (planted bugs)
#   STAGE_PATCH=F  (set by an exercise's Makefile) the exercise's seam: a
#                patch that moves the code the exercise replaces out of a
#                big stage file into one of its own (lib/seam.sh)
#   SAN=address|thread   everything under ASan+UBSan or TSan
#   GRADE_TIMEOUT, GRADE_SEED, GRADE_ONLY, GOMAXPROCS, GODEBUG: see grade.sh
# Set by an exercise's Makefile:
#   TSAN_TESTS := once_* rw_*   tests that race by design: in a plain grade
#                they run a second time, built with -fsanitize=thread
#                (OUT-thread/grade-tests), and pass only when TSan finds no
#                race either; a racy answer then fails every run, not one in
#                three. Empty: no TSan run (TSAN_TESTS= on the command line
#                turns it off).
#   FORBID := malloc free pthread_mutex_%   symbols (make patterns) the
#                student's objects must not use (`nm -u`, as CS:APP's dlc
#                checks the data lab's rules): one found fails every test,
#                with the reason; FORBID_WHY says which rule it breaks.

SHELL   := /bin/bash
MAKEFLAGS += --no-print-directory
.DEFAULT_GOAL := all

EXROOT   := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
EXROOT   := $(patsubst %/,%,$(dir $(EXROOT)))
TOP      := $(patsubst %/,%,$(dir $(EXROOT)))
EXNAME   := $(notdir $(CURDIR))
SANSUF   := $(if $(SAN),-$(SAN))

ifeq ($(STAGE),)
  $(error $(CURDIR)/Makefile must set STAGE (e.g. STAGE := 01-single-queue))
endif
STAGE_SRC ?= $(TOP)/stages/$(STAGE)
STAGE_OBJ ?= $(EXROOT)/build/stages/$(STAGE)$(SANSUF)

# An exercise with a seam (STAGE_PATCH := seam.patch) builds against a copy
# of the stage with that patch applied (lib/seam.sh), kept beside the
# stage's objects: STAGE_OBJ+EXNAME/ holds the objects, .../tree the
# sources. A planted bug's STAGE_SRC is patched the same way.
ifneq ($(STAGE_PATCH),)
  override STAGE_OBJ := $(STAGE_OBJ)+$(EXNAME)
  SEAM_OK := $(shell bash $(EXROOT)/lib/seam.sh $(STAGE_SRC) $(abspath $(STAGE_PATCH)) \
                 $(STAGE_OBJ)/tree >&2 && echo ok)
  ifneq ($(SEAM_OK),ok)
    $(error $(STAGE_PATCH) does not apply to $(STAGE_SRC): see above)
  endif
  override STAGE_SRC := $(STAGE_OBJ)/tree
endif

ifneq ($(IMPL_DIR),)
  VARIANT := custom
else ifneq ($(filter 1 yes true,$(SOLUTION)),)
  IMPL_DIR := $(TOP)/solutions/$(STAGE)/$(EXNAME)
  VARIANT  := solution
else
  IMPL_DIR := .
  VARIANT  := starter
endif
ifeq ($(wildcard $(IMPL_DIR)),)
  $(error IMPL_DIR=$(IMPL_DIR): no such directory)
endif
OUT ?= build/$(VARIANT)$(SANSUF)

include $(EXROOT)/lib/stage.mk

STUDENT_SRCS := $(filter %.c,$(STUDENT))
STUDENT_HDRS := $(addprefix $(IMPL_DIR)/,$(filter %.h,$(STUDENT)))
STUDENT_OBJS := $(STUDENT_SRCS:%.c=$(OUT)/%.o)
REPLACED     := $(filter $(notdir $(STAGE_SRCS)),$(STUDENT_SRCS))
LINK_OBJS    := $(filter-out $(REPLACED:%.c=$(STAGE_OBJ)/%.o),$(STAGE_OBJS))
TEST_SRCS    := $(wildcard tests/*.c)
TESTBIN      := $(OUT)/grade-tests
INCLUDES     := -I$(IMPL_DIR) -I. -I$(EXROOT)/lib -I$(STAGE_SRC)/include -I$(STAGE_SRC)/src

ifeq ($(TEST_SRCS),)
  $(error $(CURDIR): no graded tests in tests/*.c)
endif

# Time limits come from the tests (lib/grade.h: GRADE_DEFAULT_TIMEOUT,
# scaled in a sanitizer build); GRADE_TIMEOUT, when set, overrides them.

# What the header names: whose files are graded.
GRADE_WHAT := $(if $(filter starter,$(VARIANT)),your files ($(STUDENT)),$(if $(filter solution,$(VARIANT)),the reference solution (solutions/$(STAGE)/$(EXNAME)),the files in $(IMPL_DIR)))

# The TSan build of the racy tests: the same sources, SAN=thread, beside OUT.
TSAN_RUN := $(if $(SAN),,$(strip $(TSAN_TESTS)))
TSAN_OUT := $(OUT)-thread

.PHONY: all test clean
all: $(TESTBIN)

# A student file that replaces a stage source is runtime code (stage 04:
# its code goes into gort_text, like the stage's own); one that is added is
# user code, like the tests (GRADE_USERFLAGS: -finstrument-functions in a
# stage-04 TSan build).
$(OUT)/%.o: $(IMPL_DIR)/%.c $(STUDENT_HDRS) $(STAGE_HDRS)
	@mkdir -p $(@D)
	@echo "  CC    $(if $(filter .,$(IMPL_DIR)),,$(IMPL_DIR)/)$*.c"
	@$(CC) $(GRADE_CFLAGS) $(if $(filter $*.c,$(REPLACED)),$(STAGE_CCFLAGS),$(GRADE_USERFLAGS)) \
	    $(INCLUDES) -c $< -o $@.$$$$.tmp && \
	    $(if $(filter $*.c,$(REPLACED)),$(GORT_TEXT),true) && mv -f $@.$$$$.tmp $@

$(TESTBIN): $(TEST_SRCS) $(STUDENT_OBJS) $(LINK_OBJS) $(STUDENT_HDRS) $(EXROOT)/lib/grade.h
	@mkdir -p $(@D)
	@echo "  LINK  $@"
	@$(CC) $(GRADE_CFLAGS) $(GRADE_USERFLAGS) $(INCLUDES) $(TEST_SRCS) $(STUDENT_OBJS) $(LINK_OBJS) \
	    -o $@ $(GRADE_LDFLAGS) $(GRADE_LDLIBS)

# The rules check: the undefined symbols of the student's objects.
FORBIDDEN_USED = $(if $(FORBID),$(filter $(FORBID),$(shell nm -u $(STUDENT_OBJS) 2>/dev/null | awk '{print $$NF}' | sed 's/@.*//' | sort -u)))

test: $(TESTBIN) $(if $(TSAN_RUN),tsan-build)
	@GRADE_SAN=$(SAN) GRADE_WHAT='$(GRADE_WHAT)' \
	 GRADE_RULES='$(if $(FORBIDDEN_USED),$(notdir $(STUDENT_OBJS)) uses $(FORBIDDEN_USED): $(or $(FORBID_WHY),the README forbids it))' \
	 $(if $(TSAN_RUN),GRADE_TSAN_BIN=$(TSAN_OUT)/grade-tests GRADE_TSAN_TESTS='$(TSAN_RUN)') \
	 bash $(EXROOT)/lib/grade.sh $(TESTBIN) \
	    "$(STAGE)/$(EXNAME)$(if $(SAN), (SAN=$(SAN)))"

.PHONY: tsan-build
tsan-build:
	@$(MAKE) SAN=thread OUT=$(TSAN_OUT) TSAN_TESTS= $(if $(filter custom,$(VARIANT)),IMPL_DIR=$(IMPL_DIR)) all

clean:
	rm -rf build
