/* SPDX-License-Identifier: MIT */
/* cvpn: the IP tunnel's counters in words (tunstats.h). */
#include <inttypes.h>
#include <stdio.h>

#include "tunstats.h"

static const char *const names[DGRAM_DROP_COUNT] = {
	[DGRAM_DROP_MALFORMED] = "malformed",
	[DGRAM_DROP_MAC1] = "bad mac1",
	[DGRAM_DROP_COOKIE] = "answered with a cookie",
	[DGRAM_DROP_HANDSHAKE] = "failed handshakes",
	[DGRAM_DROP_INDEX] = "for no session",
	[DGRAM_DROP_DECRYPT] = "not authentic",
	[DGRAM_DROP_REPLAY] = "replayed",
	[DGRAM_DROP_SPOOFED] = "from another source",
	[DGRAM_DROP_EXPIRED] = "under expired keys",
};

const char *
tunstats_drop_name(enum dgram_drop why)
{
	return (unsigned)why < DGRAM_DROP_COUNT ? names[why] : "?";
}

void
tunstats_format(const struct dgram_stats *s, char *out, size_t len)
{
	size_t at;
	int n, i;

	n = snprintf(out, len, "%" PRIu64 " packets in, %" PRIu64 " out, %" PRIu64 " handshake%s; dropped:", s->received,
	    s->sent, s->handshakes, s->handshakes == 1 ? "" : "s");
	for (i = 0; i < DGRAM_DROP_COUNT && n > 0 && (size_t)n < len; i++) {
		at = (size_t)n;
		n = snprintf(out + at, len - at, "%s %" PRIu64 " %s", i ? "," : "", s->dropped[i], names[i]);
		n = n < 0 ? n : (int)at + n;
	}
}
