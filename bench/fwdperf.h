/* SPDX-License-Identifier: MIT */
/*
 * The forwarding benchmark's requests (bench/fwdperf, the application; echo
 * --sink, the target a tunnel forwards to). A connection carries requests one
 * after another:
 *
 *   'P'                 a probe: the sink answers one byte, 'p', at once
 *   'B' u64 length      that many bytes follow (big endian length); the sink
 *                       reads and discards them, then answers the u64 count
 *                       it received: every byte reached it
 */
#ifndef FWDPERF_H
#define FWDPERF_H

#define FWD_PROBE 'P'
#define FWD_ANSWER 'p'
#define FWD_BULK 'B'
/* A bulk request's length and the sink's acknowledgement. */
#define FWD_COUNT_LEN 8

#endif
