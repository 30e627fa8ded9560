/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the server engine in the secure profile, from the first byte:
 * ClientHello, handshake message 1 with its mac1, then records. The input is
 * what a client sends, split into reads and pauses by its first bytes
 * (harness.h); one configuration byte picks the server's keys, suite order,
 * rekeying and authorized list (fz_server_config, c1; --no-lab is forced so
 * the effort stays on this profile).
 *
 * The server's static key is fixed and its ephemeral keys come from the
 * deterministic RAND stream (the kex_fuzz pattern), so a recorded session
 * replays exactly and its records reach the record layer.
 * Oracles (harness.c) on top of the engine ones: a handshake completes only
 * with the transcript of a genuine session (its hash is one of
 * fz_collect_handshakes()'s), and every DATA record accepted is the genuine
 * client's next message: forged, replayed, reordered or reflected records
 * never get through.
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
	fz_collect_handshakes();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	struct fz_side s;

	fz_input_parse(data, size, 1, &in);
	memset(&s, 0, sizeof(s));
	fz_server_config(0, in.cfg[0] | 0x40, &s.cfg);
	s.server = true;
	s.stream = FZ_RNG_SERVER;
	s.secure_oracles = true;
	fz_rng_reset();
	fz_side_open(&s);
	fz_side_play(&s, &in);
	fz_side_close(&s);
	return 0;
}
