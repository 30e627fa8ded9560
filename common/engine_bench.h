/* SPDX-License-Identifier: MIT */
/*
 * cvpn: two ways into an established engine, for the load generator alone
 * (bench/): it seals its messages and checks the replies itself, and measures
 * the rest of the engine around them. Nothing in the programs uses these.
 */
#ifndef CVPN_ENGINE_BENCH_H
#define CVPN_ENGINE_BENCH_H

#include "engine.h"

struct noise_cipher;
struct record;

/*
 * An established lab session's record layer (borrowed, valid until
 * engine_free), else NULL. The engine then no longer knows what was sent.
 */
struct record *engine_lab_record(struct engine *e);

/*
 * An established secure session's transport ciphers (borrowed, valid until
 * engine_free), our sending and our receiving direction (records through
 * common/secrec.h). The engine goes on using them for what it sends and reads
 * itself, such as the CLOSE exchange. The borrower must apply the peer's
 * REKEY records to the receiving cipher; what it seals itself escapes the
 * engine's rekeying by count. Sets both only on success. Returns 0, or
 * CVPN_ERR_STATE for a lab session and for a secure one before the
 * handshake's end, once closing and after a failure.
 */
int engine_secure_transport(struct engine *e, struct noise_cipher **send, struct noise_cipher **recv);

#endif
