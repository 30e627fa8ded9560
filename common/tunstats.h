/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the IP tunnel's counters as a user reads them, for the programs'
 * logs (SIGUSR1, and at the end). Formats only; prints nothing.
 */
#ifndef CVPN_TUNSTATS_H
#define CVPN_TUNSTATS_H

#include <stddef.h>

#include "dgram.h"

/* The name of a reason to drop, as the logs write it ("replayed"). */
const char *tunstats_drop_name(enum dgram_drop why);

/*
 * Writes "N packets in, N out, N handshakes; dropped: N malformed, N bad
 * mac1, ..." for s into out (truncated to len).
 */
void tunstats_format(const struct dgram_stats *s, char *out, size_t len);

#endif
