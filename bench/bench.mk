# SPDX-License-Identifier: MIT
# Benchmarks; included by the top Makefile, so its variables
# and its $(BUILD)/%.o rule apply. See docs/PERFORMANCE.md.
#
#   make bench         the full run (about 20 minutes): table + $(BUILD)/bench.json
#   make bench-smoke   a few seconds of each load generator mode (no timing claims)
#
# The tools are a part apart from the product: make unit and make all never
# build them; make check builds them for its smoke test (bench-tools).

LOADGEN_SRC := bench/labprim.c bench/secprim.c bench/loadgen.c bench/lg_loop.c bench/lg_conn.c bench/lg_modes.c bench/lg_stats.c
LOADGEN_OBJ := $(LOADGEN_SRC:%.c=$(BUILD)/%.o)
LOADGEN_BIN := $(BUILD)/bench/loadgen
ECHO_BIN := $(BUILD)/bench/echo
DHBOUND_BIN := $(BUILD)/bench/dhbound
# The forwarding section's application (its target is echo --sink): plain sockets, no cvpn code,
# so that any tunnel can sit between the two.
FWDPERF_BIN := $(BUILD)/bench/fwdperf
# An LD_PRELOAD library that times an event loop's turn between its system calls (see its header).
TURNAROUND_SO := $(BUILD)/bench/turnaround.so
BENCH_BINS := $(LOADGEN_BIN) $(ECHO_BIN) $(DHBOUND_BIN) $(FWDPERF_BIN) $(TURNAROUND_SO)

.PHONY: bench bench-smoke bench-tools

bench-tools: $(BENCH_BINS)

$(LOADGEN_BIN): $(LOADGEN_OBJ) $(BUILD)/libcvpn.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CRYPTO_LIBS) -lpthread $(LDFLAGS)

$(ECHO_BIN): $(BUILD)/bench/echo.o $(BUILD)/bench/labprim.o $(BUILD)/bench/secprim.o $(BUILD)/libcvpn.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CRYPTO_LIBS) $(LDFLAGS)

$(DHBOUND_BIN): $(BUILD)/bench/dhbound.o $(BUILD)/bench/labprim.o $(BUILD)/libcvpn.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CRYPTO_LIBS) $(LDFLAGS)

$(FWDPERF_BIN): $(BUILD)/bench/fwdperf.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lm $(LDFLAGS)

$(TURNAROUND_SO): bench/turnaround.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CCLD    $@")
	$(Q)$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl -lpthread $(LDFLAGS)

bench: all bench-tools
	bench/run.sh $(BUILD)

bench-smoke: all bench-tools
	bench/run.sh --smoke $(BUILD)
