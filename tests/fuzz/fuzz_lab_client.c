/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the client engine in the lab profile. The client sends its
 * proposal; the input is everything the server sends back (ChosenCipher,
 * DHMKE, replies), split into reads and pauses by its first bytes
 * (harness.h). One configuration byte picks the proposal, HMAC mode,
 * terminators and --max-message (fz_lab_client_config). Whenever the client
 * may send, it sends the next message of the script (fz_script).
 *
 * The client's DH key is the fixed client key of the lab vectors; the DH
 * work runs as in fuzz_lab_server (memoized; other server values 1 in 16).
 * Oracles: those of harness.c; a reply is never longer than what the engine
 * may buffer.
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
	struct fz_side c;

	fz_input_parse(data, size, 1, &in);
	memset(&c, 0, sizeof(c));
	fz_lab_client_config(in.cfg[0], &c.cfg);
	c.stream = FZ_RNG_CLIENT;
	fz_rng_reset();
	fz_side_open(&c);
	fz_side_play(&c, &in);
	fz_side_close(&c);
	return 0;
}
