/* SPDX-License-Identifier: MIT */
/*
 * cvpn unit tests: the UDP transport (common/dgram_*.c), a client and a
 * server joined by queues of datagrams under a clock the tests move: the
 * handshake and its configuration, data both ways, reordering accepted and
 * duplicates, flips and old packets dropped, keys replaced every 2 minutes
 * without losing a packet, cookies under load, roaming, a restarted server,
 * spoofed inner sources, a wrong key, a replayed INIT, a refused client,
 * keepalives, and junk of every length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dgram.h"
#include "dgram_wire.h"
#include "err.h"
#include "noise.h"
#include "replay.h"

#define QMAX 256

struct datagram {
	uint8_t p[2048];
	size_t n;
};

struct queue {
	struct datagram d[QMAX];
	size_t n;
};

struct net {
	struct queue to_server, to_client;
	struct sockaddr_in client_addr;         /* where the client's datagrams come from */
	struct sockaddr_in last_to;             /* where the server sent last */
	int delivered_client, delivered_server;
	uint8_t last_inner[2048];
	size_t last_inner_len;
	uint8_t config[256];
	size_t config_len;
	int established;
	int refuse;                             /* admit refuses */
	int forgotten;
};

static void
push(struct queue *q, const uint8_t *p, size_t n)
{
	assert_true(q->n < QMAX && n <= sizeof(q->d[0].p));
	memcpy(q->d[q->n].p, p, n);
	q->d[q->n++].n = n;
}

static void
client_send(void *arg, const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t n)
{
	struct net *net = arg;

	assert_null(to);
	(void)tolen;
	push(&net->to_server, p, n);
}

static void
server_send(void *arg, const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t n)
{
	struct net *net = arg;

	assert_int_equal(tolen, sizeof(struct sockaddr_in));
	memcpy(&net->last_to, to, sizeof(net->last_to));
	push(&net->to_client, p, n);
}

static void
client_deliver(void *arg, struct dgram_peer *peer, const uint8_t *p, size_t n)
{
	struct net *net = arg;

	assert_null(peer);
	net->delivered_client++;
	memcpy(net->last_inner, p, n);
	net->last_inner_len = n;
}

static void
server_deliver(void *arg, struct dgram_peer *peer, const uint8_t *p, size_t n)
{
	struct net *net = arg;

	assert_non_null(peer);
	net->delivered_server++;
	memcpy(net->last_inner, p, n);
	net->last_inner_len = n;
}

/* Gives every client 10.77.0.2/24, an MTU of 1420 and the source check. */
static int
admit(void *arg, struct dgram_peer *peer, uint8_t *config, size_t cap, size_t *len)
{
	static const uint8_t cfg[] = { DGRAM_CONFIG_ADDRESS, 5, 10, 77, 0, 2, 24, DGRAM_CONFIG_MTU, 2, 0x05, 0x8c };
	struct net *net = arg;
	uint32_t src;

	if (net->refuse)
		return CVPN_ERR_UNAUTHORIZED;
	assert_true(cap >= sizeof(cfg));
	memcpy(config, cfg, sizeof(cfg));
	*len = sizeof(cfg);
	inet_pton(AF_INET, "10.77.0.2", &src);
	dgram_peer_set_source(peer, src);
	return 0;
}

static void
established(void *arg, const uint8_t *config, size_t n)
{
	struct net *net = arg;

	net->established++;
	memcpy(net->config, config, n);
	net->config_len = n;
}

static void
forget(void *arg, struct dgram_peer *peer)
{
	struct net *net = arg;

	(void)peer;
	net->forgotten++;
}

/* The last keys each side reported for its key log. */
static struct dgram_keylog_copy {
	uint32_t client_index, server_index;
	uint8_t c2s[32], s2c[32];
	int count;
} client_logged, server_logged;

static void
log_keys(struct dgram_keylog_copy *to, const struct dgram_keylog *k)
{
	assert_non_null(strstr(k->protocol, "Noise_IKpsk2_25519_"));
	to->client_index = k->client_index;
	to->server_index = k->server_index;
	memcpy(to->c2s, k->c2s, 32);
	memcpy(to->s2c, k->s2c, 32);
	to->count++;
}

static void
client_keys(void *arg, struct dgram_peer *peer, const struct dgram_keylog *k)
{
	(void)arg;
	assert_null(peer);
	log_keys(&client_logged, k);
}

static void
server_keys(void *arg, struct dgram_peer *peer, const struct dgram_keylog *k)
{
	(void)arg;
	assert_non_null(peer);
	log_keys(&server_logged, k);
}

static const struct dgram_ops client_ops = { .send = client_send, .deliver = client_deliver,
	.established = established, .keys = client_keys };
static const struct dgram_ops server_ops = { .send = server_send, .deliver = server_deliver, .admit = admit,
	.forget = forget, .keys = server_keys };

struct pair {
	struct net net;
	struct dgram_config cc, sc;
	struct dgram_client *c;
	struct dgram_server *s;
	uint64_t now;
};

static void
setup(struct pair *pr, enum aead_cipher suite)
{
	uint8_t pub[32];

	memset(pr, 0, sizeof(*pr));
	assert_int_equal(noise_keypair_generate(pr->sc.static_priv, pub), 0);
	assert_int_equal(noise_keypair_generate(pr->cc.static_priv, pr->cc.server_pub), 0);
	memcpy(pr->cc.server_pub, pub, 32);
	pr->cc.suites[0] = suite;
	pr->cc.nsuites = 1;
	pr->sc.suites[0] = AEAD_CHACHAPOLY;
	pr->sc.suites[1] = AEAD_AESGCM;
	pr->sc.nsuites = 2;
	pr->net.client_addr.sin_family = AF_INET;
	pr->net.client_addr.sin_port = htons(40000);
	inet_pton(AF_INET, "192.0.2.10", &pr->net.client_addr.sin_addr);
	pr->now = 1000;
}

static void
open_pair(struct pair *pr)
{
	assert_int_equal(dgram_client_new(&pr->cc, &client_ops, &pr->net, &pr->c), 0);
	assert_int_equal(dgram_server_new(&pr->sc, &server_ops, &pr->net, &pr->s), 0);
}

static void
close_pair(struct pair *pr)
{
	dgram_client_free(pr->c);
	dgram_server_free(pr->s);
}

/* Carries every queued datagram to its end, in order; returns how many. */
static int
flush(struct pair *pr)
{
	struct queue *q;
	int moved = 0;
	size_t i;

	while (pr->net.to_server.n || pr->net.to_client.n) {
		q = &pr->net.to_server;
		for (i = 0; i < q->n; i++, moved++)
			(void)dgram_server_receive(pr->s, pr->now, (struct sockaddr *)&pr->net.client_addr,
			    sizeof(pr->net.client_addr), q->d[i].p, q->d[i].n);
		q->n = 0;
		q = &pr->net.to_client;
		for (i = 0; i < q->n; i++, moved++)
			(void)dgram_client_receive(pr->c, pr->now, q->d[i].p, q->d[i].n);
		q->n = 0;
	}
	return moved;
}

/* An IPv4 packet of n bytes (at least 20) from src, its payload a counter. */
static size_t
ip_packet(uint8_t *p, size_t n, const char *src, uint32_t mark)
{
	memset(p, 0, n);
	p[0] = 0x45;
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, "10.77.0.1", p + 16);
	if (n >= 24)
		memcpy(p + 20, &mark, 4);
	return n;
}

static struct dgram_peer *server_peer;

static void
catch_peer(void *arg, struct dgram_peer *peer, const uint8_t *p, size_t n)
{
	server_peer = peer;
	server_deliver(arg, peer, p, n);
}

/* Handshake, then one packet each way; the configuration arrives with the keys. */
static void
handshake(struct pair *pr)
{
	uint8_t pkt[100];

	(void)dgram_client_tick(pr->c, pr->now);
	assert_int_equal(pr->net.to_server.n, 1);
	assert_int_equal(pr->net.to_server.d[0].n, DGRAM_INIT_LEN);
	flush(pr);
	assert_true(dgram_client_established(pr->c));
	assert_int_equal(pr->net.established, 1);
	assert_int_equal(pr->net.config_len, 11);
	assert_int_equal(dgram_client_send(pr->c, pr->now, pkt, ip_packet(pkt, 100, "10.77.0.2", 1)), 0);
	flush(pr);
	assert_int_equal(pr->net.delivered_server, 1);
}

static void
test_handshake_and_data(void **state)
{
	static const enum aead_cipher suites[] = { AEAD_CHACHAPOLY, AEAD_AESGCM };
	struct dgram_ops sops = server_ops;
	struct dgram_stats st;
	struct pair pr;
	uint8_t pkt[1400];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		setup(&pr, suites[i]);
		sops.deliver = catch_peer;
		assert_int_equal(dgram_client_new(&pr.cc, &client_ops, &pr.net, &pr.c), 0);
		assert_int_equal(dgram_server_new(&pr.sc, &sops, &pr.net, &pr.s), 0);
		/* Sent before the handshake: held, then delivered after it. */
		assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 60, "10.77.0.2", 7)), 0);
		(void)dgram_client_tick(pr.c, pr.now);
		flush(&pr);
		assert_int_equal(pr.net.delivered_server, 1);
		assert_int_equal(pr.net.last_inner_len, 60);
		assert_non_null(server_peer);
		/* And back, every size up to a full MTU. */
		for (size_t n = 20; n <= 1400; n += 137) {
			assert_int_equal(dgram_server_send(pr.s, server_peer, pr.now, pkt, ip_packet(pkt, n, "10.77.0.1", (uint32_t)n)), 0);
			flush(&pr);
			assert_int_equal(pr.net.last_inner_len, n);
			assert_memory_equal(pr.net.last_inner, pkt, n);
		}
		dgram_server_stats(pr.s, &st);
		assert_int_equal(st.handshakes, 1);
		/* Both ends log the same keys and indexes for the same handshake. */
		assert_int_equal(client_logged.count, server_logged.count);
		assert_memory_equal(&client_logged, &server_logged, offsetof(struct dgram_keylog_copy, count));
		close_pair(&pr);
		server_peer = NULL;
	}
}

/* Reordered within the window: taken; a copy, a flipped bit, a packet under no key: dropped and counted. */
static void
test_reorder_replay_flip(void **state)
{
	struct dgram_stats st;
	struct queue held;
	struct pair pr;
	uint8_t pkt[100];
	int i;

	(void)state;
	setup(&pr, AEAD_CHACHAPOLY);
	open_pair(&pr);
	handshake(&pr);
	for (i = 0; i < 10; i++)
		assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 80, "10.77.0.2", (uint32_t)i)), 0);
	held = pr.net.to_server;
	pr.net.to_server.n = 0;
	/* Backwards, then each again, then one with a flipped bit. */
	for (i = 9; i >= 0; i--)
		push(&pr.net.to_server, held.d[i].p, held.d[i].n);
	flush(&pr);
	assert_int_equal(pr.net.delivered_server, 11);
	for (i = 0; i < 10; i++)
		push(&pr.net.to_server, held.d[i].p, held.d[i].n);
	held.d[0].p[30] ^= 1;
	held.d[0].p[5] ^= 0; /* the index is right */
	push(&pr.net.to_server, held.d[0].p, held.d[0].n);
	flush(&pr);
	assert_int_equal(pr.net.delivered_server, 11);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_REPLAY], 10);
	assert_int_equal(st.dropped[DGRAM_DROP_DECRYPT], 1);
	close_pair(&pr);
}

/* Every 2 minutes new keys, with packets in flight under the old ones: none lost. */
static void
test_rekey_without_gap(void **state)
{
	struct dgram_stats st;
	struct pair pr;
	uint8_t pkt[100];
	int round, delivered;

	(void)state;
	setup(&pr, AEAD_AESGCM);
	open_pair(&pr);
	handshake(&pr);
	for (round = 0; round < 5; round++) {
		pr.now += DGRAM_REKEY_AFTER_MS;
		/* A packet goes out, then the client notices the age of its keys and sends an INIT. */
		assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 40, "10.77.0.2", 1)), 0);
		(void)dgram_client_tick(pr.c, pr.now);
		assert_int_equal(pr.net.to_server.n, 2);
		assert_int_equal(pr.net.to_server.d[1].n, DGRAM_INIT_LEN);
		delivered = pr.net.delivered_server;
		flush(&pr);
		assert_int_equal(pr.net.delivered_server, delivered + 1);
		assert_int_equal(pr.net.established, round + 2);
		/* Under the new keys now. */
		assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 40, "10.77.0.2", 2)), 0);
		flush(&pr);
		assert_int_equal(pr.net.delivered_server, delivered + 2);
	}
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.handshakes, 6);
	assert_int_equal(st.dropped[DGRAM_DROP_DECRYPT] + st.dropped[DGRAM_DROP_INDEX], 0);
	close_pair(&pr);
}

/* One INIT from another client, so that the server has seen one this second already. */
static void
load_once(struct pair *pr)
{
	struct dgram_config other = pr->cc;
	struct net sink = { 0 };
	struct dgram_client *c;
	uint8_t pub[32];

	assert_int_equal(noise_keypair_generate(other.static_priv, pub), 0);
	assert_int_equal(dgram_client_new(&other, &client_ops, &sink, &c), 0);
	(void)dgram_client_tick(c, pr->now);
	assert_int_equal(dgram_server_receive(pr->s, pr->now, (struct sockaddr *)&pr->net.client_addr,
	    sizeof(pr->net.client_addr), sink.to_server.d[0].p, sink.to_server.d[0].n), 0);
	pr->net.to_client.n = 0; /* its RESPONSE is not ours */
	dgram_client_free(c);
}

/* Over the INIT rate: a COOKIE and no Diffie-Hellman; the client's next INIT carries mac2 and passes. */
static void
test_cookie(void **state)
{
	struct dgram_stats st;
	struct pair pr;

	(void)state;
	setup(&pr, AEAD_CHACHAPOLY);
	pr.sc.cookie_rate = 1;
	open_pair(&pr);
	load_once(&pr);
	(void)dgram_client_tick(pr.c, pr.now);
	flush(&pr);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_COOKIE], 1);
	assert_int_equal(st.handshakes, 1); /* the other client's only */
	assert_false(dgram_client_established(pr.c));
	/* The resend, again over the rate in its second: its mac2 is right now, so it passes. */
	pr.now += 5500;
	load_once(&pr);
	(void)dgram_client_tick(pr.c, pr.now);
	flush(&pr);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_COOKIE], 1);
	assert_true(dgram_client_established(pr.c));
	close_pair(&pr);
}

/* The client moves: its next authenticated packet says where, and the server answers there. */
static void
test_roaming(void **state)
{
	struct dgram_ops sops = server_ops;
	struct pair pr;
	uint8_t pkt[100];

	(void)state;
	setup(&pr, AEAD_CHACHAPOLY);
	sops.deliver = catch_peer;
	assert_int_equal(dgram_client_new(&pr.cc, &client_ops, &pr.net, &pr.c), 0);
	assert_int_equal(dgram_server_new(&pr.sc, &sops, &pr.net, &pr.s), 0);
	handshake(&pr);
	pr.net.client_addr.sin_port = htons(50000);
	assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 40, "10.77.0.2", 1)), 0);
	flush(&pr);
	assert_int_equal(dgram_server_send(pr.s, server_peer, pr.now, pkt, ip_packet(pkt, 40, "10.77.0.1", 1)), 0);
	assert_int_equal(ntohs(pr.net.last_to.sin_port), 50000);
	close_pair(&pr);
	server_peer = NULL;
}

/* A server that lost its state: the client, hearing nothing for 15 s after sending, shakes hands again. */
static void
test_server_restart(void **state)
{
	struct pair pr;
	uint8_t pkt[100];
	int established;

	(void)state;
	setup(&pr, AEAD_CHACHAPOLY);
	open_pair(&pr);
	handshake(&pr);
	dgram_server_free(pr.s);
	assert_int_equal(dgram_server_new(&pr.sc, &server_ops, &pr.net, &pr.s), 0);
	established = pr.net.established;
	pr.now += 1000;
	assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 40, "10.77.0.2", 1)), 0);
	flush(&pr);
	pr.now += DGRAM_KEEPALIVE_TIMEOUT_MS + DGRAM_REKEY_TIMEOUT_MS;
	(void)dgram_client_tick(pr.c, pr.now);
	flush(&pr);
	assert_int_equal(pr.net.established, established + 1);
	close_pair(&pr);
}

/* An inner packet that does not come from the client's address, a wrong server key, a refused client. */
static void
test_refusals(void **state)
{
	struct dgram_stats st;
	struct pair pr;
	uint8_t pkt[100];

	(void)state;
	setup(&pr, AEAD_CHACHAPOLY);
	open_pair(&pr);
	handshake(&pr);
	assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 40, "10.77.0.99", 1)), 0);
	flush(&pr);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_SPOOFED], 1);
	close_pair(&pr);

	setup(&pr, AEAD_CHACHAPOLY);
	pr.cc.server_pub[3] ^= 1;
	open_pair(&pr);
	(void)dgram_client_tick(pr.c, pr.now);
	assert_int_equal(flush(&pr), 1); /* the INIT, and nothing back */
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_MAC1], 1);
	close_pair(&pr);

	setup(&pr, AEAD_CHACHAPOLY);
	open_pair(&pr);
	pr.net.refuse = 1;
	(void)dgram_client_tick(pr.c, pr.now);
	assert_int_equal(flush(&pr), 1);
	assert_false(dgram_client_established(pr.c));
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_HANDSHAKE], 1);
	close_pair(&pr);
}

/* A copy of an INIT the server took is refused by its ephemeral key. */
static void
test_replayed_init(void **state)
{
	struct replay *guard;
	struct dgram_stats st;
	struct datagram init;
	struct pair pr;

	(void)state;
	assert_int_equal(replay_new(REPLAY_WINDOW_DEFAULT, 1024, NULL, &guard), 0);
	setup(&pr, AEAD_CHACHAPOLY);
	pr.sc.replay = guard;
	open_pair(&pr);
	(void)dgram_client_tick(pr.c, pr.now);
	init = pr.net.to_server.d[0];
	flush(&pr);
	push(&pr.net.to_server, init.p, init.n);
	assert_int_equal(flush(&pr), 1);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.dropped[DGRAM_DROP_HANDSHAKE], 1);
	assert_int_equal(st.handshakes, 1);
	close_pair(&pr);
	replay_free(guard);
}

/* --keepalive: an empty DATA after that much silence; the server takes it as life, delivers nothing. */
static void
test_keepalive(void **state)
{
	struct dgram_stats st;
	struct pair pr;
	int delivered;

	(void)state;
	setup(&pr, AEAD_CHACHAPOLY);
	pr.cc.keepalive_ms = 25000;
	open_pair(&pr);
	handshake(&pr);
	delivered = pr.net.delivered_server;
	/* The server answers the client's data with a keepalive of its own after 10 s of saying nothing. */
	pr.now += DGRAM_KEEPALIVE_TIMEOUT_MS;
	(void)dgram_server_tick(pr.s, pr.now);
	assert_int_equal(pr.net.to_client.n, 1);
	assert_int_equal(pr.net.to_client.d[0].n, DGRAM_DATA_OVERHEAD);
	flush(&pr);
	pr.now += 25000 - DGRAM_KEEPALIVE_TIMEOUT_MS;
	(void)dgram_client_tick(pr.c, pr.now);
	assert_int_equal(pr.net.to_server.n, 1);
	assert_int_equal(pr.net.to_server.d[0].n, DGRAM_DATA_OVERHEAD);
	flush(&pr);
	assert_int_equal(pr.net.delivered_server, delivered);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.received, 3); /* the first keepalive, the data, this one */
	close_pair(&pr);
}

/* Junk of every length and type, and every cut of real packets: counted drops, nothing else. */
static void
test_junk(void **state)
{
	unsigned seed = (unsigned)time(NULL);
	struct dgram_stats st;
	struct datagram real[3];
	struct pair pr;
	uint8_t junk[300], pkt[100];
	size_t n, i, cut;

	(void)state;
	printf("# dgram junk: seed %u\n", seed);
	srand(seed);
	setup(&pr, AEAD_CHACHAPOLY);
	open_pair(&pr);
	(void)dgram_client_tick(pr.c, pr.now);
	real[0] = pr.net.to_server.d[0];
	flush(&pr);
	assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 64, "10.77.0.2", 1)), 0);
	real[1] = pr.net.to_server.d[pr.net.to_server.n - 1];
	flush(&pr);
	for (n = 0; n < sizeof(junk); n++) {
		for (i = 0; i < n; i++)
			junk[i] = (uint8_t)rand();
		if (n > 0)
			junk[0] = (uint8_t)(1 + n % 5);
		(void)dgram_server_receive(pr.s, pr.now, (struct sockaddr *)&pr.net.client_addr,
		    sizeof(pr.net.client_addr), junk, n);
		(void)dgram_client_receive(pr.c, pr.now, junk, n);
	}
	for (i = 0; i < 2; i++)
		for (cut = 0; cut < real[i].n; cut++)
			(void)dgram_server_receive(pr.s, pr.now, (struct sockaddr *)&pr.net.client_addr,
			    sizeof(pr.net.client_addr), real[i].p, cut);
	dgram_server_stats(pr.s, &st);
	assert_int_equal(st.handshakes, 1);
	assert_true(st.dropped[DGRAM_DROP_MALFORMED] > 0);
	/* Still working. */
	assert_int_equal(dgram_client_send(pr.c, pr.now, pkt, ip_packet(pkt, 64, "10.77.0.2", 2)), 0);
	flush(&pr);
	assert_int_equal(pr.net.delivered_server, 2);
	close_pair(&pr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_data),
		cmocka_unit_test(test_reorder_replay_flip),
		cmocka_unit_test(test_rekey_without_gap),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_roaming),
		cmocka_unit_test(test_server_restart),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_replayed_init),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests_name("dgram", tests, NULL, NULL);
}
