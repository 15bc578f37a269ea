# exercises/lib/stage.mk: one stage's runtime, built out of tree.
#
# The exercises link a stage's runtime with a student's files added or put
# in place of the stage's own; the integrity check (check-integrity.sh)
# builds planted-bug copies of a stage the same way. Neither may touch
# stages/: this file compiles a stage's src/*.c and src/*.S into STAGE_OBJ
# with the stage's own flags (keep them in step with the stage Makefile),
# so that one build of the objects serves every exercise of that stage.
#
# Set by the includer (or on the command line):
#   STAGE_SRC   the stage's directory (stages/01-single-queue, or a scratch copy)
#   STAGE_OBJ   where its objects go (one directory per stage and SAN)
#   SAN         empty, address (ASan+UBSan) or thread (TSan)
# Provides:
#   STAGE_OBJS                       every object of the stage's src/
#   $(STAGE_OBJ)/tests/test_NAME     a stage unit test (Criterion), for the
#                                    planted-bug check
#   GORT_TEXT                        (stage 04+) the recipe line that moves
#                                    an object's code into gort_text
#   GRADE_USERFLAGS                  flags for user code (tests, added files)
#
# Stage 04 and later (a stage with src/preempt.c) need what their Makefile
# does: every runtime object's code renamed into the section gort_text, so
# the SIGURG handler can tell the runtime from user code; and, under TSan,
# cooperative preemption only (-DGORT_PREEMPT_COOP, user code compiled with
# -finstrument-functions).

CC      ?= cc
SAN     ?=
DEBUG   ?= 0

GRADE_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
                -fno-omit-frame-pointer -pthread -DGORT_DEBUG=$(DEBUG)
GRADE_LDLIBS := -lpthread -lm
ifeq ($(SAN),address)
  GRADE_CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined
  GRADE_LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SAN),thread)
  GRADE_CFLAGS  += -fsanitize=thread
  GRADE_LDFLAGS += -fsanitize=thread
else ifneq ($(SAN),)
  $(error SAN=$(SAN): expected address or thread)
endif

GRADE_USERFLAGS :=
GORT_TEXT       := true
STAGE_CCFLAGS   :=
ifneq ($(wildcard $(STAGE_SRC)/src/preempt.c),)
  OBJCOPY ?= objcopy
  # -fno-plt: runtime code calls libc through the GOT, not through the
  # program's PLT stubs, which lie outside gort_text: a SIGURG landing in
  # memset@plt called by chan_bufget (a channel lock held) was taken for
  # user code and deadlocked the thread (reported for the stage Makefile).
  STAGE_CCFLAGS := -fno-reorder-blocks-and-partition -fno-plt
  GORT_TEXT = $(OBJCOPY) $(foreach s,.text .text.unlikely .text.hot .text.startup .text.exit,\
                --rename-section $(s)=gort_text) $@.$$$$.tmp
  ifeq ($(SAN),thread)
    GRADE_CFLAGS    += -DGORT_PREEMPT_COOP
    GRADE_USERFLAGS := -finstrument-functions
  endif
endif

ifeq ($(wildcard $(STAGE_SRC)/src/proc.c),)
  $(error STAGE_SRC=$(STAGE_SRC) is not a gort stage (no src/proc.c there))
endif

STAGE_SRCS := $(wildcard $(STAGE_SRC)/src/*.c)
STAGE_ASMS := $(wildcard $(STAGE_SRC)/src/*.S)
STAGE_HDRS := $(wildcard $(STAGE_SRC)/src/*.h) $(STAGE_SRC)/include/gort.h
STAGE_OBJS := $(patsubst $(STAGE_SRC)/src/%.c,$(STAGE_OBJ)/%.o,$(STAGE_SRCS)) \
              $(patsubst $(STAGE_SRC)/src/%.S,$(STAGE_OBJ)/%.o,$(STAGE_ASMS))

# Objects are written under a temporary name and renamed, so two exercises
# built at the same time never link a half-written object.
$(STAGE_OBJ)/%.o: $(STAGE_SRC)/src/%.c $(STAGE_HDRS)
	@mkdir -p $(@D)
	@echo "  CC    $(notdir $(STAGE_SRC))/src/$*.c"
	@$(CC) $(GRADE_CFLAGS) $(STAGE_CCFLAGS) -I$(STAGE_SRC)/include -c $< -o $@.$$$$.tmp && \
	    $(GORT_TEXT) && mv -f $@.$$$$.tmp $@
$(STAGE_OBJ)/%.o: $(STAGE_SRC)/src/%.S
	@mkdir -p $(@D)
	@echo "  AS    $(notdir $(STAGE_SRC))/src/$*.S"
	@$(CC) $(GRADE_CFLAGS) -g -I$(STAGE_SRC)/include -c $< -o $@.$$$$.tmp && \
	    $(GORT_TEXT) && mv -f $@.$$$$.tmp $@

# A stage's own unit test, linked against these objects (Criterion; the TSan
# build uses the stage's minicriterion, as the stage Makefile does).
STAGE_CRITERION := $(if $(filter thread,$(SAN)),-DGORT_MINICRITERION,-lcriterion)
$(STAGE_OBJ)/tests/%: $(STAGE_SRC)/tests/%.c $(wildcard $(STAGE_SRC)/tests/*.h) $(STAGE_OBJS)
	@mkdir -p $(@D)
	@echo "  CC    $(notdir $(STAGE_SRC))/tests/$*.c"
	@$(CC) $(GRADE_CFLAGS) $(GRADE_USERFLAGS) -I$(STAGE_SRC)/include $< -o $@ $(GRADE_LDFLAGS) \
	    $(STAGE_OBJS) $(STAGE_CRITERION) $(GRADE_LDLIBS)

.PHONY: stage-objs
stage-objs: $(STAGE_OBJS)
