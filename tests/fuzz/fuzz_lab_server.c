/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the server engine in the lab profile. The input is what a
 * client sends (proposal, DHMKE, data messages), split into reads and pauses
 * by its first bytes (harness.h); one configuration byte picks the HMAC
 * mode, terminators, reply style, cipher list and --max-message
 * (fz_server_config, c0). The server has no secure keys here, so the
 * fuzzer's effort stays on the lab path (fuzz_secure_server covers the other).
 *
 * The server's DH key is the fixed server key of the lab vectors. The DH
 * work runs for the vectors' client value (memoized, see wrap.c) and for 1
 * in 16 other values (fz_dh_allowed), so recorded sessions reach the data
 * messages at full speed while any value may still reach the exponentiation.
 *
 * Oracles (harness.c): every return is 0 or a known error and a failure
 * sticks; no event after a failure; a verified message is valid UTF-8 within
 * --max-message; an accepted DH value passed dh_check_public; every -v line
 * is free of control characters.
 */
#include <string.h>

#include "harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	struct fz_side s;

	fz_input_parse(data, size, 1, &in);
	memset(&s, 0, sizeof(s));
	fz_server_config(in.cfg[0], 0x03, &s.cfg);
	s.server = true;
	s.stream = FZ_RNG_SERVER;
	fz_rng_reset();
	fz_side_open(&s);
	fz_side_play(&s, &in);
	fz_side_close(&s);
	return 0;
}
