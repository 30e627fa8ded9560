/* SPDX-License-Identifier: MIT */
/*
 * Where messages come from: -m arguments, lines piped into stdin, or the
 * interactive readline prompt. One table of \commands feeds parsing, \help
 * and tab completion.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "buf.h"
#include "client.h"

#define PROMPT "Enter message: "
#define HISTORY_LINES 1000
/* A piped line longer than this cannot be a lab message; it is dropped with a warning. */
#define PIPE_LINE_MAX (64 * 1024)

struct prompt {
	struct session *session;
	struct failure failure;
	int exit;
	bool done;
	bool handler;           /* the readline callback handler is installed */
	bool busy;              /* a line is being handled: stdin waits until its reply has come */
	int signal;             /* the signal that ended the prompt, or 0 */
	void (*on_stdin)(struct prompt *p);
};

typedef void command_fn(struct prompt *p);

static void prompt_show(void);

static void cmd_quit(struct prompt *p);
static void cmd_help(struct prompt *p);
static void cmd_status(struct prompt *p);

static const struct command {
	const char *name;
	command_fn *fn;
	const char *help;
} commands[] = {
	{ "\\quit", cmd_quit, "close the connection and exit (Ctrl-D does the same)" },
	{ "\\status", cmd_status, "show the server address, the cipher and the messages sent" },
	{ "\\help", cmd_help, "list these commands" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
cmd_quit(struct prompt *p)
{
	p->done = true;
}

static void
cmd_help(struct prompt *p)
{
	size_t i;

	(void)p;
	printf("Type a message and press Enter to send it; the server answers with it reversed.\n");
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].help);
	printf("  Start a message with \\\\ to send a leading backslash.\n");
}

static void
cmd_status(struct prompt *p)
{
	char line[256];

	session_status(p->session, line, sizeof(line));
	printf("%s\n", line);
}

/*
 * Handles one line: a \command, or a message. "\\" at the start sends one
 * backslash, so any text can still be sent.
 */
static void
handle_line(struct prompt *p, const char *line, size_t n)
{
	size_t i, len;

	if (n > 0 && line[0] == '\\' && !(n > 1 && line[1] == '\\')) {
		/* Completion leaves a space after the command; ignore trailing blanks. */
		for (len = n; len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'); len--)
			;
		for (i = 0; i < NCOMMANDS; i++) {
			if (strlen(commands[i].name) == len && strncmp(line, commands[i].name, len) == 0) {
				commands[i].fn(p);
				return;
			}
		}
		fprintf(stderr, "cvpn-client: unknown command '%s' (\\help lists them; \\\\ sends a backslash)\n", line);
		return;
	}
	if (n > 1 && line[0] == '\\')
		line++, n--;
	if (session_send(p->session, line, n, &p->failure) < 0) {
		p->exit = p->failure.exit;
		p->done = true;
	}
}

static int
finish(struct prompt *p)
{
	if (p->exit == CLIENT_OK && session_finish(p->session, &p->failure) != 0)
		p->exit = p->failure.exit;
	if (p->exit != CLIENT_OK)
		report_failure(&p->failure);
	else
		report_closed();
	return p->exit;
}

int
prompt_messages(struct session *s, char **msgs, size_t n)
{
	struct prompt p = { .session = s };
	size_t i;

	for (i = 0; i < n && !p.done; i++) {
		if ((p.exit = session_send(s, msgs[i], strlen(msgs[i]), &p.failure)) < 0)
			p.exit = p.failure.exit;
		else if (p.exit == 1)
			p.exit = CLIENT_USAGE; /* a -m message we cannot send is a usage error */
		if (p.exit != CLIENT_OK)
			break;
	}
	if (p.exit == CLIENT_USAGE)
		return CLIENT_USAGE;
	return finish(&p);
}

/*
 * stdin is read only between lines: while one is handled (its reply awaited,
 * the loop turning inside session_send), the next waits where it is.
 */
static short
stdin_events(void *arg)
{
	struct prompt *p = arg;

	return p->busy || p->done ? 0 : POLLIN;
}

static void
stdin_ready(void *arg, short revents)
{
	struct prompt *p = arg;

	(void)revents;
	p->busy = true;
	p->on_stdin(p);
	p->busy = false;
}

/* Asked before each turn of the loop: the prompt goes back on the screen before it waits. */
static bool
prompt_done(void *arg)
{
	struct prompt *p = arg;

	if (!p->done)
		prompt_show();
	return p->done;
}

/*
 * Waits for the user, calling on_stdin when stdin is readable, while the
 * loop carries everything else: forwarded connections, and the server,
 * which may only speak when asked in the lab, so that anything from it here
 * is a close or an error, reported at once.
 */
static void
wait_loop(struct prompt *p, void (*on_stdin)(struct prompt *p))
{
	struct loop *l = session_loop(p->session);
	struct loop_watch *w;
	struct failure f;

	p->on_stdin = on_stdin;
	if (loop_watch(l, STDIN_FILENO, stdin_events, stdin_ready, p, &w) != 0) {
		p->failure = (struct failure){ .exit = CLIENT_SOFTWARE, .code = "nomem", .message = "out of memory" };
		p->exit = CLIENT_SOFTWARE;
		return;
	}
	if (session_run(p->session, prompt_done, p, 0, &f) != 0 && p->exit == CLIENT_OK) {
		p->failure = f;
		p->exit = f.exit;
	}
	loop_unwatch(l, w);
}

/* Lines read from a pipe: our own buffer, since stdio's would hide lines from poll(). */
static struct buf pipe_in;
static bool pipe_skipping;      /* dropping the rest of an over-long line */

/* Sends every complete line in pipe_in. */
static void
pipe_lines(struct prompt *p)
{
	uint8_t *nl;
	size_t len;

	while (!p->done && (nl = memchr(pipe_in.data, '\n', pipe_in.len)) != NULL) {
		len = (size_t)(nl - pipe_in.data);
		*nl = '\0';
		if (len > 0 && pipe_in.data[len - 1] == '\r')
			pipe_in.data[--len] = '\0';
		handle_line(p, (const char *)pipe_in.data, len);
		buf_consume(&pipe_in, (size_t)(nl - pipe_in.data) + 1);
	}
}

/* Adds a chunk of input; an over-long line is dropped up to its newline, with a warning. */
static void
pipe_add(const uint8_t *chunk, size_t n)
{
	const uint8_t *nl;

	if (pipe_skipping) {
		if ((nl = memchr(chunk, '\n', n)) == NULL)
			return;
		pipe_skipping = false;
		n -= (size_t)(nl + 1 - chunk);
		chunk = nl + 1;
	}
	if (buf_append(&pipe_in, chunk, n, PIPE_LINE_MAX) == 0)
		return;
	report_warning("line_too_long", "line not sent: longer than the lab's message limit");
	/* The long line is what is buffered plus the chunk up to its first newline. */
	buf_clear(&pipe_in);
	if ((nl = memchr(chunk, '\n', n)) == NULL) {
		pipe_skipping = true;
		return;
	}
	pipe_add(nl + 1, n - (size_t)(nl + 1 - chunk));
}

static void
pipe_read(struct prompt *p)
{
	uint8_t chunk[4096];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return;
	if (n < 0) {
		p->failure = (struct failure){ .exit = CLIENT_IOERR, .code = "stdin" };
		snprintf(p->failure.message, sizeof(p->failure.message), "reading stdin: %s", strerror(errno));
		p->exit = CLIENT_IOERR;
		p->done = true;
		return;
	}
	if (n == 0) {
		/* End of input: a last line without a newline still counts. */
		if (pipe_in.len > 0 && !pipe_skipping)
			pipe_add((const uint8_t *)"\n", 1);
		pipe_lines(p);
		p->done = true;
		return;
	}
	pipe_add(chunk, (size_t)n);
	pipe_lines(p);
}

int
prompt_lines(struct session *s)
{
	struct prompt p = { .session = s };

	wait_loop(&p, pipe_read);
	buf_clear(&pipe_in);
	return finish(&p);
}

/* ---- Interactive ---- */

static struct prompt *active;

/*
 * Whether readline shows the prompt: from when it draws it until it hands a
 * line to on_line, and again once on_line returns. Output written then would
 * land after the prompt and the half-typed line, so it takes them off the
 * screen first (prompt_hide), and wait_loop puts them back, typed text and
 * cursor included, once the output is done.
 */
static bool prompt_shown;
static bool prompt_hidden;

void
prompt_hide(void)
{
	if (!prompt_shown || prompt_hidden)
		return;
	rl_clear_visible_line();
	/* readline writes through stdio: the erasing must reach the terminal before lines on stderr. */
	fflush(rl_outstream);
	prompt_hidden = true;
}

static void
prompt_show(void)
{
	if (!prompt_hidden)
		return;
	prompt_hidden = false;
	/* The cursor starts an empty line: readline draws the prompt, the line and its cursor anew. */
	rl_on_new_line();
	rl_redisplay();
}

/*
 * Keys typed while on_line waits for a reply. readline gives the terminal
 * back in its normal mode while on_line runs, and the terminal then echoes
 * keys wherever the cursor is: "abc" typed there would sit in front of the
 * reply ("abcServer says: olleh"). With the echo off they wait unseen, and
 * readline shows them after the next prompt. A signal that ends or stops us
 * meanwhile puts the echo back first, so the shell gets its terminal as it
 * lent it.
 */
static const int echo_signals[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGTSTP };

#define NECHO_SIGNALS (sizeof(echo_signals) / sizeof(echo_signals[0]))

static struct termios echo_saved;
static struct sigaction echo_saved_actions[NECHO_SIGNALS];
static bool echo_replaced[NECHO_SIGNALS];

static void
echo_restore_and_raise(int sig)
{
	int saved_errno = errno;

	/*
	 * tcsetattr() is async-signal-safe. SA_RESETHAND has made the action the
	 * default one again: the signal raised anew takes it once we return.
	 */
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &echo_saved);
	raise(sig);
	errno = saved_errno;
}

static void
echo_on(void)
{
	size_t i;

	/* Before readline takes the terminal again: it keeps what it finds as the settings to go back to. */
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &echo_saved);
	for (i = 0; i < NECHO_SIGNALS; i++) {
		if (echo_replaced[i])
			(void)sigaction(echo_signals[i], &echo_saved_actions[i], NULL);
		echo_replaced[i] = false;
	}
}

/* Turns the terminal's echo off. Returns false when it was off already or cannot be changed. */
static bool
echo_off(void)
{
	struct sigaction restore = { .sa_handler = echo_restore_and_raise, .sa_flags = SA_RESETHAND };
	struct termios quiet;
	size_t i;

	if (tcgetattr(STDIN_FILENO, &echo_saved) != 0 || !(echo_saved.c_lflag & ECHO))
		return false;
	sigemptyset(&restore.sa_mask);
	/* Only where the default action would end or stop us: a signal handled or ignored stays so. */
	for (i = 0; i < NECHO_SIGNALS; i++)
		echo_replaced[i] = sigaction(echo_signals[i], NULL, &echo_saved_actions[i]) == 0 &&
		    echo_saved_actions[i].sa_handler == SIG_DFL &&
		    sigaction(echo_signals[i], &restore, NULL) == 0;
	quiet = echo_saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0)
		return true;
	echo_on();
	return false;
}

static char *
command_generator(const char *text, int state)
{
	static size_t i, len;

	if (state == 0) {
		i = 0;
		len = strlen(text);
	}
	while (i < NCOMMANDS) {
		const char *name = commands[i++].name;

		if (strncmp(name, text, len) == 0)
			return strdup(name);
	}
	return NULL;
}

static char **
complete(const char *text, int start, int end)
{
	(void)end;
	/* Complete \commands at the start of the line; never file names. */
	rl_attempted_completion_over = 1;
	if (start != 0)
		return NULL;
	return rl_completion_matches(text, command_generator);
}

/*
 * Called by readline with a whole line, before it draws the next prompt:
 * everything a message prints (its reply, its -v lines, a warning) comes
 * before that prompt.
 */
static void
on_line(char *line)
{
	bool quiet = echo_off();

	prompt_shown = false;
	if (line == NULL) {
		/* Ctrl-D: end the session like \quit. */
		printf("\n");
		active->done = true;
	} else {
		if (*line)
			add_history(line);
		handle_line(active, line, strlen(line));
		free(line);
	}
	if (quiet)
		echo_on();
	/* Removing the handler here stops readline from drawing one more prompt. */
	if (active->done) {
		rl_callback_handler_remove();
		active->handler = false;
	} else {
		prompt_shown = true; /* readline draws it as soon as we return */
	}
}

static void
history_load(const struct client_config *cfg)
{
	using_history();
	stifle_history(HISTORY_LINES);
	if (cfg->history)
		read_history(cfg->history);
}

static void
history_save(const struct client_config *cfg, int before)
{
	int added = history_length - before;

	if (cfg->history == NULL || added <= 0)
		return;
	/* Append, as psql does, so that two sessions do not overwrite each other. */
	if (access(cfg->history, F_OK) != 0)
		write_history(cfg->history);
	else
		append_history(added > HISTORY_LINES ? HISTORY_LINES : added, cfg->history);
	history_truncate_file(cfg->history, HISTORY_LINES);
}

static void
terminal_read(struct prompt *p)
{
	(void)p;
	rl_callback_read_char();
}

/*
 * SIGINT, SIGTERM and SIGHUP at the prompt. Their default action would end
 * the process with the terminal still in readline's mode (no echo, Enter
 * read as a carriage return), and the shell after us would read nothing
 * the user types. Caught into the loop instead, they end the session as
 * \quit does (the secure profile's CLOSE included), and readline gives the
 * terminal back. As with \quit the exit status is 0, as it is for -N and
 * --tun, which a signal ends the same way.
 */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void
on_stop_signal(void *arg, int sig)
{
	struct prompt *p = arg;

	if (p->signal == 0) {
		p->signal = sig;
		p->done = true;
	}
}

int
prompt_interactive(struct session *s, const struct client_config *cfg)
{
	struct prompt p = { .session = s };
	struct loop_signals *stop = NULL;
	int before, r;

	active = &p;
	rl_readline_name = "cvpn";
	rl_attempted_completion_function = complete;
	/* Only spaces split words, so "\\sta" reaches the completer whole. */
	rl_completer_word_break_characters = (char *)" \t";
	history_load(cfg);
	before = history_length;
	/* Without the catch (no pipe left), a signal still ends us, as before. */
	(void)loop_signals_catch(session_loop(s), stop_signals, sizeof(stop_signals) / sizeof(stop_signals[0]),
	    on_stop_signal, &p, &stop);
	rl_callback_handler_install(PROMPT, on_line);
	p.handler = true;
	prompt_shown = true;
	wait_loop(&p, terminal_read);
	if (p.handler) {
		/* Leave the half-typed line and the prompt off the screen before the error. */
		prompt_hide();
		rl_callback_handler_remove();
	}
	prompt_shown = prompt_hidden = false;
	history_save(cfg, before);
	active = NULL;
	r = finish(&p);
	loop_signals_free(stop);
	return r;
}
