/* SPDX-License-Identifier: MIT */
/*
 * cvpn: the -v view. Turns engine events into the lines students read, with
 * the same names the JSON events and the key log use. Formats only; the
 * caller decides where lines go.
 */
#ifndef CVPN_DESCRIBE_H
#define CVPN_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>

struct engine_event;

typedef void describe_line_fn(void *arg, const char *line);

/*
 * Calls fn once per line describing ev as seen by one side (server or
 * client). Level 1 shortens DH values and long ciphertexts; level 2 and up
 * print them whole. Level 0 prints nothing.
 */
void describe_event(const struct engine_event *ev, bool server, int level, describe_line_fn *fn, void *arg);

/* Writes "AES256" style names ("We are going to use AES256") into out. */
void describe_choice(const struct engine_event *ev, char *out, size_t outlen);

/* Calls fn once per line of the --list-ciphers table (every suite, its sizes, key and IV lengths). */
void describe_suites(describe_line_fn *fn, void *arg);

#endif
