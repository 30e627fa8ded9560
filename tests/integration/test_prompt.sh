#!/bin/sh
# The interactive prompt in a real terminal (tmux): the prompt text, replies,
# line editing, history kept in a file and recalled with the up arrow, tab
# completion of \commands, \quit and Ctrl-D; Ctrl-C, SIGTERM and SIGHUP, which
# give the terminal back as it was; and the server vanishing while the user
# types. With -v, the screen stays readable: every line of output
# has a line of its own, before the next prompt, also when the user types
# while a reply is on its way or when the server goes away.
. tests/lib.sh

command -v tmux >/dev/null || { not_ok "tmux is installed (tests/deps.sh installs it)"; finish; }
export TMUX_TMPDIR=$TMP
SESSION=cvpn$$
HIST=$TMP/history

start_server prompt -c 'AES:256' || { not_ok "server starts"; finish; }

pane() { tmux capture-pane -p -t "$SESSION" 2>/dev/null; }
# wait_pane PATTERN: waits (bounded) until the screen matches.
wait_pane() {
	i=0; limit=$(bound 10)
	while [ $i -lt "$limit" ]; do
		pane | grep -q -- "$1" && return 0
		sleep 0.05; i=$((i + 1))
	done
	echo "# screen was:"; pane | sed 's/^/#   /'
	return 1
}
# screen: the whole pane with its scrollback, wrapped lines joined.
screen() { tmux capture-pane -p -J -S - -t "$SESSION" 2>/dev/null; }
# lines N PATTERN: waits (bounded) until N lines on the screen match PATTERN.
lines() {
	i=0; limit=$(bound 10)
	while [ $i -lt "$limit" ]; do
		[ "$(screen | grep -c -- "$2")" -ge "$1" ] && return 0
		sleep 0.05; i=$((i + 1))
	done
	echo "# screen was:"; screen | sed 's/^/#   /'
	return 1
}
# start_client ARGS...: the client in a new tmux session, after the shell command BEFORE and
# before AFTER when they are set. tmux exits once its
# last session is killed, and a session asked for while it exits fails
# ("server exited unexpectedly"): ask again, a bounded number of times.
start_client() {
	i=0
	until tmux new-session -d -s "$SESSION" -x 120 -y 30 \
	    "${BEFORE:-:}; $CLIENT -H 127.0.0.1 -p $PORT --history $HIST $*; echo EXIT=\$?; ${AFTER:-:}; sleep 30" \
	    2>"$TMP/tmux.err"; do
		i=$((i + 1))
		[ $i -lt 20 ] || { echo "# tmux: $(cat "$TMP/tmux.err")"; return 1; }
		sleep 0.05
	done
}

start_client
check "prompt appears after the handshake" wait_pane '^Enter message:'
check "transcript before the prompt" sh -c "tmux capture-pane -p -t $SESSION | grep -q 'We are going to use AES256'"
check "at a terminal, the lab profile is said once to be unauthenticated and readable on the path" \
	sh -c "[ \$(tmux capture-pane -p -J -S - -t $SESSION | grep -c 'note: the lab profile is unauthenticated and readable by anyone on the path') -eq 1 ]"
tmux send-keys -t "$SESSION" 'hello' Enter
check "reply printed, new prompt" wait_pane '^Server says: olleh$'
# Line editing: type "wrld", go Home, step Right, insert the missing "o".
tmux send-keys -t "$SESSION" 'wrld' Home Right 'o' End Enter
check "line editing (Home, cursor keys)" wait_pane '^Server says: dlrow$'
tmux send-keys -t "$SESSION" Up Up Enter
check "up arrow recalls history" lines 2 '^Server says: olleh$'
tmux send-keys -t "$SESSION" '\sta' Tab Enter
check "tab completes \\status" wait_pane 'cipher AES256, 3 messages sent'
tmux send-keys -t "$SESSION" '\quit' Enter
check "\\quit exits 0" wait_pane '^EXIT=0$'
check "history file written" grep -qx 'hello' "$HIST"
tmux kill-session -t "$SESSION"

start_client
wait_pane '^Enter message:' >/dev/null
tmux send-keys -t "$SESSION" Up Up Up Enter
check "history survives a restart" wait_pane '^Server says: olleh$'
tmux send-keys -t "$SESSION" C-d
check "Ctrl-D exits 0" wait_pane '^EXIT=0$'
tmux kill-session -t "$SESSION"

start_client
wait_pane '^Enter message:' >/dev/null
check "server stops on SIGTERM" stop_server
check "client reports the lost server at once (exit 69)" wait_pane '^EXIT=69$'
check "client says why" sh -c "tmux capture-pane -p -t $SESSION | grep -q 'server closed the connection'"
tmux kill-session -t "$SESSION"

# ---- A readable screen with -v ----

# tidy: every line of output is whole and on a line of its own: nothing is
# written after the prompt but what the user typed, nothing in front of a
# reply, a -v line or an error.
tidy() {
	screen >"$TMP/screen"
	grep -n -e 'Enter message: .*\(Server says\|reply <-\|ciphertext =\|tag =\|cvpn-client:\)' \
	    -e '.Server says: ' -e '.cvpn-client: ' -e '[^ ]  *\(reply <-\|ciphertext =\|tag =\)' \
	    -e '^  reply <-.*[^s]$' "$TMP/screen" >"$TMP/untidy" || return 0
	echo "# lines not whole:"; sed 's/^/#   /' "$TMP/untidy"
	echo "# the screen was:"; sed 's/^/#   /' "$TMP/screen"
	return 1
}
# last_line TEXT: the last line on the screen that is not empty is TEXT (trailing blanks aside).
last_line() {
	[ "$(screen | sed -e 's/ *$//' -e '/^$/d' | tail -n 1)" = "$1" ] && return 0
	echo "# the last line is not '$1'; the screen was:"; screen | sed 's/^/#   /'
	return 1
}
replies() { lines "$1" '^  reply <- '; }

start_server prompt-verbose -c 'AES:256' || { not_ok "server starts again"; finish; }
# --timeout: below, the reply is held back for a moment, which a busy machine may make long.
start_client -v --no-history --timeout 300
check "-v: prompt after the handshake" wait_pane '^Enter message:'
tmux send-keys -t "$SESSION" 'hello' Enter
check "-v: first reply" replies 1
tmux send-keys -t "$SESSION" 'world' Enter
check "-v: second reply" replies 2
check "-v: each reply and its -v lines on their own lines, before the next prompt" tidy
check "-v: the prompt comes last" last_line 'Enter message:'

# Keys typed while a reply is on its way: the server is held (SIGSTOP, our
# own server) so that the reply is sure to arrive after them. The terminal
# must not write them into the output; they belong to the next prompt.
trap 'kill -CONT "$SPID" 2>/dev/null; cleanup' EXIT
kill -STOP "$SPID"
tmux send-keys -t "$SESSION" 'again' Enter
check "held: the third message is sent" lines 3 '^  tag = '
# Typed ahead: "ac", Left, "b" leaves "abc" with the cursor after the "b".
tmux send-keys -t "$SESSION" 'ac' Left 'b'
pane >/dev/null # tmux has written the keys once this second command has run
kill -CONT "$SPID"
trap cleanup EXIT
check "typed ahead: the reply arrives" replies 3
check "typed ahead: the prompt shows the typed text" wait_pane '^Enter message: abc$'
check "typed ahead: the reply and its -v lines stay whole" tidy
check "typed ahead: the prompt with the typed text comes last" last_line 'Enter message: abc'
# The cursor was left after the "b": "X" goes there, and Enter sends the line.
tmux send-keys -t "$SESSION" 'X' Enter
check "typed ahead: the line and its cursor kept (abXc sent)" wait_pane '^Server says: cXba$'

tmux kill-session -t "$SESSION"

# Ctrl-C, SIGTERM and SIGHUP at the prompt: the session ends as \quit ends it, the terminal is
# given back as the shell lent it (readline's mode would leave the shell reading nothing), and the
# status is 0, as after \quit.
BEFORE="stty -g >$TMP/stty.before" AFTER="stty -g >$TMP/stty.after"
# stopped_by HOW STATUS: the client at its prompt, a line half typed, is stopped by HOW (C-c, or a
# signal's name sent to it); it exits STATUS and leaves the terminal's settings as they were.
stopped_by() {
	rm -f "$TMP/stty.before" "$TMP/stty.after"
	disconnects=$(grep -c 'disconnected$' "$SLOG")
	start_client --no-history && wait_pane '^Enter message:' >/dev/null || return 1
	tmux send-keys -t "$SESSION" 'half' && wait_pane '^Enter message: half$' >/dev/null || return 1
	if [ "$1" = C-c ]; then
		tmux send-keys -t "$SESSION" C-c
	else
		shell=$(tmux display -p -t "$SESSION" '#{pane_pid}')
		kill -s "$1" "$(pgrep -P "$shell" -f "$CLIENT")"
	fi
	wait_pane "^EXIT=$2\$" && wait_for "$TMP/stty.after" . 10 &&
	wait_count "$SLOG" 'disconnected$' $((disconnects + 1)) 10 || return 1
	cmp -s "$TMP/stty.before" "$TMP/stty.after" ||
		{ echo "# the terminal was $(cat "$TMP/stty.before"), is $(cat "$TMP/stty.after")"; return 1; }
	tmux kill-session -t "$SESSION"
}
check "Ctrl-C at the prompt: exit 0, the session closed, the terminal as it was" stopped_by C-c 0
check "SIGTERM at the prompt: the same" stopped_by TERM 0
check "SIGHUP at the prompt: the same" stopped_by HUP 0
unset BEFORE AFTER

# The server goes away while the user types: the error gets its own line.
start_client -v --no-history
wait_pane '^Enter message:' >/dev/null
tmux send-keys -t "$SESSION" 'half'
check "typed: the prompt shows the typed text" wait_pane '^Enter message: half$'
check "server stops on SIGTERM (while the user types)" stop_server
check "client reports the lost server (exit 69)" wait_pane '^EXIT=69$'
check "the error on its own line" wait_pane '^cvpn-client: server closed the connection$'
check "the screen stays whole after the error" tidy
tmux kill-session -t "$SESSION"
finish
