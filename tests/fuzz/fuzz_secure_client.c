/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the client engine in the secure profile. The client sends its
 * ClientHello; the input is everything the server sends back (ServerHello,
 * handshake message 2, records), split into reads and pauses by its first
 * bytes (harness.h). One configuration byte picks the mode, suites, keys,
 * rekeying and when the client closes (fz_secure_client_config; bits 6-7:
 * close after that many replies, 0 after the whole script). The client sends
 * the script's messages, then CLOSE.
 *
 * Keys are fixed and ephemerals come from the deterministic RAND stream, so
 * recorded sessions replay. Oracles (harness.c): a handshake completes only
 * with a genuine transcript, and every reply accepted is the genuine
 * server's reply to our own message, in order, with status 0.
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
	struct fz_side c;

	fz_input_parse(data, size, 1, &in);
	memset(&c, 0, sizeof(c));
	fz_secure_client_config(in.cfg[0], &c.cfg);
	c.stream = FZ_RNG_CLIENT;
	c.close_after = true;
	c.close_at = in.cfg[0] >> 6;
	c.secure_oracles = true;
	fz_rng_reset();
	fz_side_open(&c);
	fz_side_play(&c, &in);
	fz_side_close(&c);
	return 0;
}
