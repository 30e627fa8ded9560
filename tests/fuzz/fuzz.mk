# SPDX-License-Identifier: MIT
# libFuzzer targets (tests/fuzz/fuzz_*.c; what each one feeds and checks is at
# the top of its file). Included by the top Makefile. The common sources are
# built again with clang into $(FUZZ_BUILD), instrumented for coverage
# (-fsanitize=fuzzer-no-link) and for ASan+UBSan, and each target is linked
# with libFuzzer.
#
#   make fuzz-build         every target, and make-seeds
#   make -j2 fuzz-check     each target FUZZ_CHECK_SECONDS (20) from a copy of its committed
#                           corpus; fails on any crash, leak or timeout (-j2: a target per core)
#   make -j2 fuzz           the long campaign: each target FUZZ_SECONDS (600); new inputs go to
#                           $(FUZZ_BUILD)/corpus/<target>, never to the committed corpus
#   make fuzz-merge         minimizes committed + campaign inputs into $(FUZZ_BUILD)/merged/<target>
#                           (review, then copy into tests/fuzz/corpus/<target>)
#   make fuzz-seeds         regenerates tests/fuzz/corpus/ from real sessions (make-seeds.c)
#   make fuzz-check-T, fuzz-run-T, fuzz-merge-T   the same for one target T
#
# Crashing, leaking and slow inputs are kept in $(FUZZ_BUILD)/artifacts/<target>/; replay one
# with $(FUZZ_BUILD)/fuzz_<target> FILE.

FUZZ_CC ?= $(shell command -v clang-14 2>/dev/null || echo clang)
FUZZ_BUILD ?= build/fuzz
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 20
FUZZ_DIR := tests/fuzz
FUZZ_TARGETS := $(patsubst $(FUZZ_DIR)/fuzz_%.c,%,$(wildcard $(FUZZ_DIR)/fuzz_*.c))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -D_GNU_SOURCE -MMD -MP \
	-DCVPN_VERSION='"$(VERSION)"' -Icommon -I$(FUZZ_DIR) $(shell $(PKG_CONFIG) --cflags libcrypto) $(FUZZ_SAN)
# The engine targets memoize the lab DH and every target checks BN_dec2bn's input (wrap.c).
FUZZ_WRAP := -Wl,--wrap=dh_from_private,--wrap=dh_free,--wrap=dh_compute_secret,--wrap=BN_dec2bn
FUZZ_LIB := $(FUZZ_BUILD)/libcvpn-fuzz.a
FUZZ_LIB_OBJ := $(COMMON_SRC:%.c=$(FUZZ_BUILD)/%.o) $(FUZZ_BUILD)/$(FUZZ_DIR)/harness.o
FUZZ_ENV := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FUZZ_LIMITS := -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1

# Per target: an input size cap at or above the largest input its parser takes, and the lab dictionary for text.
FUZZ_DICT := -dict=$(FUZZ_DIR)/lab.dict
FUZZ_OPTS_proposal := -max_len=4096 $(FUZZ_DICT)
FUZZ_OPTS_choice := -max_len=256 $(FUZZ_DICT)
FUZZ_OPTS_spec := -max_len=1024 $(FUZZ_DICT)
FUZZ_OPTS_dh := -max_len=8192
FUZZ_OPTS_keys := -max_len=512
FUZZ_OPTS_keyfile := -max_len=4096
FUZZ_OPTS_text := -max_len=8192
FUZZ_OPTS_suites := -max_len=256
FUZZ_OPTS_lab_record := -max_len=8192
FUZZ_OPTS_lab_server := -max_len=16384 $(FUZZ_DICT)
FUZZ_OPTS_lab_client := -max_len=16384 $(FUZZ_DICT)
FUZZ_OPTS_secure_server := -max_len=16384
FUZZ_OPTS_secure_client := -max_len=16384
FUZZ_OPTS_secure_records := -max_len=16384

.PHONY: fuzz fuzz-build fuzz-check fuzz-merge fuzz-seeds
.PRECIOUS: $(FUZZ_BUILD)/%.o $(FUZZ_BINS)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/$(FUZZ_DIR)/fuzz_%.o $(FUZZ_BUILD)/$(FUZZ_DIR)/wrap.o $(FUZZ_LIB)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_WRAP) -o $@ $^ $(CRYPTO_LIBS) -lpthread

# The seed generator runs the real DH (no wrap.o) and has its own main().
$(FUZZ_BUILD)/make-seeds: $(FUZZ_BUILD)/$(FUZZ_DIR)/make-seeds.o $(FUZZ_LIB)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -o $@ $^ $(CRYPTO_LIBS) -lpthread

fuzz-build: $(FUZZ_BINS) $(FUZZ_BUILD)/make-seeds

fuzz-seeds: $(FUZZ_BUILD)/make-seeds
	$(FUZZ_ENV) $(FUZZ_BUILD)/make-seeds $(FUZZ_DIR)/corpus

# One short run from a scratch copy of the committed corpus. Prints
# "fuzz T: N runs, R/s, no crash", or the failure and the input that caused it.
fuzz-check: $(FUZZ_TARGETS:%=fuzz-check-%)

fuzz-check-%: $(FUZZ_BUILD)/fuzz_%
	@d=$(FUZZ_BUILD)/check/$*; a=$(FUZZ_BUILD)/artifacts/$*; rm -rf $$d; mkdir -p $$d/corpus $$a; \
	cp $(FUZZ_DIR)/corpus/$*/* $$d/corpus/; \
	if $(FUZZ_ENV) $< $(FUZZ_OPTS_$*) $(FUZZ_LIMITS) -max_total_time=$(FUZZ_CHECK_SECONDS) \
	    -artifact_prefix=$$a/ $$d/corpus >$$d/log 2>&1; then \
		echo "fuzz $*: $$(sed -n 's/^stat::number_of_executed_units: *//p' $$d/log) runs," \
		    "$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$d/log)/s, no crash"; \
	else \
		echo "fuzz $*: FAILED, input $$(sed -n 's/^.*Test unit written to \(.*\)$$/\1/p' $$d/log | tail -n 1)" \
		    "(log $$d/log)"; \
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz invariant|.*runtime error)' $$d/log | head -n 5 | sed 's/^/  /'; \
		exit 1; \
	fi

fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)

fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts/$*
	@echo "fuzz $*: $(FUZZ_SECONDS) s, new inputs in $(FUZZ_BUILD)/corpus/$*, log $(FUZZ_BUILD)/run-$*.log"
	@$(FUZZ_ENV) $< $(FUZZ_OPTS_$*) $(FUZZ_LIMITS) -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$*/ $(FUZZ_BUILD)/corpus/$* $(FUZZ_DIR)/corpus/$* \
	    >$(FUZZ_BUILD)/run-$*.log 2>&1 || { tail -n 30 $(FUZZ_BUILD)/run-$*.log; exit 1; }
	@echo "fuzz $*: $$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_BUILD)/run-$*.log) runs," \
	    "$$(ls $(FUZZ_BUILD)/corpus/$* | wc -l) new inputs, no crash"

fuzz-merge: $(FUZZ_TARGETS:%=fuzz-merge-%)

fuzz-merge-%: $(FUZZ_BUILD)/fuzz_%
	@rm -rf $(FUZZ_BUILD)/merged/$* && mkdir -p $(FUZZ_BUILD)/merged/$* $(FUZZ_BUILD)/corpus/$*
	@$(FUZZ_ENV) $< $(FUZZ_OPTS_$*) -merge=1 $(FUZZ_BUILD)/merged/$* $(FUZZ_DIR)/corpus/$* \
	    $(FUZZ_BUILD)/corpus/$* >$(FUZZ_BUILD)/merge-$*.log 2>&1 || { tail -n 20 $(FUZZ_BUILD)/merge-$*.log; exit 1; }
	@echo "fuzz $*: $$(ls $(FUZZ_BUILD)/merged/$* | wc -l) inputs in $(FUZZ_BUILD)/merged/$*"

-include $(wildcard $(FUZZ_BUILD)/common/*.d $(FUZZ_BUILD)/$(FUZZ_DIR)/*.d)
