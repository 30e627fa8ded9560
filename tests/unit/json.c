/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vectors.h"

/* Nesting deeper than this is refused, so hostile input cannot exhaust the stack. */
#define MAX_DEPTH 64

struct parser {
	const char *p, *end;
};

static struct json *parse_value(struct parser *ps, int depth);

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static bool
take(struct parser *ps, char c)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return true;
	}
	return false;
}

static bool
take_word(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

static int
hex4(const char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t
put_utf8(char *q, unsigned long cp)
{
	if (cp < 0x80) {
		q[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		q[0] = (char)(0xc0 | cp >> 6);
		q[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		q[0] = (char)(0xe0 | cp >> 12);
		q[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		q[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	q[0] = (char)(0xf0 | cp >> 18);
	q[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	q[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	q[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes a \u escape at p (after the backslash and 'u'), with a following low surrogate if needed. */
static bool
unicode_escape(struct parser *ps, unsigned long *cp)
{
	int hi, lo;

	if (ps->end - ps->p < 4 || (hi = hex4(ps->p)) < 0)
		return false;
	ps->p += 4;
	if (hi < 0xd800 || hi > 0xdfff) {
		*cp = (unsigned long)hi;
		return true;
	}
	if (hi > 0xdbff || ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
	    (lo = hex4(ps->p + 2)) < 0xdc00 || lo > 0xdfff)
		return false;
	ps->p += 6;
	*cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) + ((unsigned long)lo - 0xdc00);
	return true;
}

/* Parses a string at ps->p (on the opening quote) into a new buffer. */
static char *
parse_string(struct parser *ps, size_t *len)
{
	char *out, *q;
	unsigned long cp;

	if (!take(ps, '"') || (out = q = malloc((size_t)(ps->end - ps->p) + 1)) == NULL)
		return NULL;
	for (;;) {
		if (ps->p >= ps->end || (unsigned char)*ps->p < 0x20)
			goto bad;
		if (*ps->p == '"')
			break;
		if (*ps->p != '\\') {
			*q++ = *ps->p++;
			continue;
		}
		if (++ps->p >= ps->end)
			goto bad;
		switch (*ps->p++) {
		case '"': *q++ = '"'; break;
		case '\\': *q++ = '\\'; break;
		case '/': *q++ = '/'; break;
		case 'b': *q++ = '\b'; break;
		case 'f': *q++ = '\f'; break;
		case 'n': *q++ = '\n'; break;
		case 'r': *q++ = '\r'; break;
		case 't': *q++ = '\t'; break;
		case 'u':
			if (!unicode_escape(ps, &cp))
				goto bad;
			q += put_utf8(q, cp);
			break;
		default:
			goto bad;
		}
	}
	ps->p++;
	*q = '\0';
	*len = (size_t)(q - out);
	return out;
bad:
	free(out);
	return NULL;
}

static bool
parse_number(struct parser *ps, struct json *j)
{
	const char *start = ps->p;
	char buf[64], *endp;
	bool integral = true;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return false;
	/* No leading zeros (RFC 8259): "0" alone, or a nonzero digit first. */
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
		return false;
	while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || strchr(".eE+-", *ps->p) != NULL)) {
		if (strchr(".eE", *ps->p) != NULL)
			integral = false;
		ps->p++;
	}
	if ((size_t)(ps->p - start) >= sizeof(buf))
		return false;
	memcpy(buf, start, (size_t)(ps->p - start));
	buf[ps->p - start] = '\0';
	j->type = JSON_NUMBER;
	errno = 0;
	j->number = strtod(buf, &endp);
	if (*endp != '\0')
		return false;
	if (integral) {
		j->integer = strtoll(buf, &endp, 10);
		j->integral = errno == 0 && *endp == '\0';
	}
	return true;
}

static bool
append(struct json *j, char *key, struct json *item)
{
	struct json **items = realloc(j->items, (j->n + 1) * sizeof(*items));
	char **keys;

	if (items == NULL)
		return false;
	j->items = items;
	if (j->type == JSON_OBJECT) {
		if ((keys = realloc(j->keys, (j->n + 1) * sizeof(*keys))) == NULL)
			return false;
		j->keys = keys;
		j->keys[j->n] = key;
	}
	j->items[j->n++] = item;
	return true;
}

/* Parses the members of an array or object after its opening bracket. */
static bool
parse_members(struct parser *ps, struct json *j, int depth)
{
	char close = j->type == JSON_OBJECT ? '}' : ']';
	struct json *item;
	char *key = NULL;
	size_t keylen;

	if (take(ps, close))
		return true;
	do {
		if (j->type == JSON_OBJECT) {
			skip_ws(ps);
			if ((key = parse_string(ps, &keylen)) == NULL || !take(ps, ':')) {
				free(key);
				return false;
			}
		}
		if ((item = parse_value(ps, depth + 1)) == NULL || !append(j, key, item)) {
			free(key);
			json_free(item);
			return false;
		}
		key = NULL;
	} while (take(ps, ','));
	return take(ps, close);
}

static struct json *
parse_value(struct parser *ps, int depth)
{
	struct json *j;
	bool ok;

	if (depth > MAX_DEPTH || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	skip_ws(ps);
	if (ps->p >= ps->end) {
		ok = false;
	} else if (*ps->p == '{' || *ps->p == '[') {
		j->type = *ps->p++ == '{' ? JSON_OBJECT : JSON_ARRAY;
		ok = parse_members(ps, j, depth);
	} else if (*ps->p == '"') {
		j->type = JSON_STRING;
		ok = (j->string = parse_string(ps, &j->string_len)) != NULL;
	} else if (take_word(ps, "true")) {
		j->type = JSON_BOOL;
		j->boolean = ok = true;
	} else if (take_word(ps, "false")) {
		j->type = JSON_BOOL;
		ok = true;
	} else if (take_word(ps, "null")) {
		ok = true;
	} else {
		ok = parse_number(ps, j);
	}
	if (!ok) {
		json_free(j);
		return NULL;
	}
	return j;
}

struct json *
json_parse(const char *text, size_t len)
{
	struct parser ps = { text, text + len };
	struct json *j = parse_value(&ps, 0);

	skip_ws(&ps);
	if (j != NULL && ps.p != ps.end) {
		json_free(j);
		return NULL;
	}
	return j;
}

void
json_free(struct json *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->n; i++) {
		if (j->keys)
			free(j->keys[i]);
		json_free(j->items[i]);
	}
	free(j->keys);
	free(j->items);
	free(j->string);
	free(j);
}

const struct json *
json_get(const struct json *j, const char *key)
{
	size_t i;

	if (j == NULL || j->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < j->n; i++) {
		if (strcmp(j->keys[i], key) == 0)
			return j->items[i];
	}
	return NULL;
}

const struct json *
json_at(const struct json *j, size_t i)
{
	if (j == NULL || j->type != JSON_ARRAY || i >= j->n)
		return NULL;
	return j->items[i];
}

static const struct json *
member(const struct json *j, const char *key, enum json_type type)
{
	const struct json *m = json_get(j, key);

	if (m == NULL || m->type != type)
		fail_msg("JSON member \"%s\" missing or of the wrong type", key);
	return m;
}

const char *
json_str(const struct json *j, const char *key)
{
	return member(j, key, JSON_STRING)->string;
}

long long
json_int(const struct json *j, const char *key)
{
	const struct json *m = member(j, key, JSON_NUMBER);

	if (!m->integral)
		fail_msg("JSON member \"%s\" is not an integer", key);
	return m->integer;
}

const struct json *
json_array(const struct json *j, const char *key)
{
	return member(j, key, JSON_ARRAY);
}

uint8_t *
json_hex(const struct json *j, const char *key, size_t *len)
{
	const struct json *m = member(j, key, JSON_STRING);
	size_t cap = m->string_len / 2;
	uint8_t *out = malloc(cap ? cap : 1);
	int n = 0;

	if (out == NULL || strlen(m->string) != m->string_len || (n = unhex(m->string, out, cap)) < 0)
		fail_msg("JSON member \"%s\" is not hex", key);
	*len = (size_t)n;
	return out;
}

bool
json_has_flag(const struct json *j, const char *flag)
{
	const struct json *flags = json_array(j, "flags");
	size_t i;

	for (i = 0; i < flags->n; i++) {
		if (flags->items[i]->type == JSON_STRING && strcmp(flags->items[i]->string, flag) == 0)
			return true;
	}
	return false;
}
