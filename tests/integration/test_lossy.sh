#!/bin/sh
# The lab profile over a lossy path: two network namespaces joined by impair.py (7% loss,
# 50-200 ms of delay per packet, so reordering, and 1% duplication, at an MTU of 1500: a
# DHMKE is two segments, and a lost one comes back a retransmission timeout later). Every
# session must complete and exchange its messages:
#   - cvpn-client -> cvpn-server, labpeer client -> cvpn-server, cvpn-client -> labpeer
#     server: 50 sessions of each cipher (AES, Blowfish, DES3, DES, XOR, None; each cipher's
#     sizes in turn), half over IPv4 and half over IPv6;
#   - cvpn-client -> cvpn-mitm -> cvpn-server: 5 sessions of each cipher (the mitm reads
#     the lossy side's messages with the same rules).
# The Python peer skips its 1.3 s quadratic residue check here, to keep 600 of its sessions
# within a CI budget; test_interop.sh runs it with the check.
# Needs root (network namespaces, /dev/net/tun); reported as a skip otherwise. Needs
# iproute2 (tests/deps.sh): a failure without it.
#   BUILD=build sh tests/integration/test_lossy.sh     (CVPN_SEED=N replays the impairments)
. tests/lib.sh

need_package iproute2 "the lab over a lossy link between two network namespaces" || finish
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ]; then
	echo "ok - # SKIP needs root and /dev/net/tun for network namespaces"
	finish
fi
SEED=${CVPN_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "# seed $SEED (CVPN_SEED=$SEED replays the impairments)"
NSA=cvpn-lossy-a-$$
NSB=cvpn-lossy-b-$$
lossy_cleanup() {
	cleanup
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap lossy_cleanup EXIT
ip netns add "$NSA" && ip netns add "$NSB" && ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up ||
	{ not_ok "create the namespaces"; finish; }

$PY tests/integration/impair.py "$NSA" "$NSB" --loss 0.07 --delay 50:200 --dup 0.01 --mtu 1500 --seed "$SEED" \
	--seconds 1200 >"$TMP/impair.out" 2>"$TMP/impair.err" &
IMPAIR_PID=$!; PIDS="$PIDS $IMPAIR_PID"
check "the lossy link is up" wait_for "$TMP/impair.out" '^ready' 10

ALL='AES:128,192,256 Blowfish:112,224,448 DES3:128,192 DES:56 XOR:128,256 None:128'
ip netns exec "$NSB" "$SERVER" -p 4600 --allow-insecure -c "$ALL" --max-failures 1000000 \
	--max-source-handshakes 1000000 >"$TMP/server.log" 2>&1 &
SPID=$!; PIDS="$PIDS $SPID"
check "cvpn-server listens in its namespace" wait_for "$TMP/server.log" '^Listening on' 10
ip netns exec "$NSB" "$BUILD/cvpn-mitm" -l 192.0.2.2 -p 4601 -P 4600 >"$TMP/mitm.log" 2>&1 &
PIDS="$PIDS $!"
check "cvpn-mitm listens in its namespace" wait_for "$TMP/mitm.log" 'Listening on' 10
PEERS=8
k=0
while [ $k -lt $PEERS ]; do
	k=$((k + 1))
	ip netns exec "$NSB" $PY tests/interop/labpeer.py server --host :: --port $((5000 + k)) \
		--ciphers "$ALL" --skip-residue-check --timeout 60 >"$TMP/peer$k.log" 2>&1 &
	PIDS="$PIDS $!"
	check "labpeer server $k listens" wait_for "$TMP/peer$k.log" '^Listening on' 10
done

ip netns exec "$NSA" timeout 1200 $PY - "$CLIENT" "$PEERS" <<'PYEOF'
"""Runs the session matrix, 24 at a time, and prints one TAP line per pairing and cipher."""
import concurrent.futures, queue, subprocess, sys

client, peers = sys.argv[1], int(sys.argv[2])
CIPHERS = {"AES": (128, 192, 256), "Blowfish": (112, 224, 448), "DES3": (128, 192), "DES": (56,),
           "XOR": (128, 256), "None": (128,)}
MSGS = ["hello", "Information Assurance and Security, cut by a lossy path"]
EXPECTED = "".join(f"Server says: {m[::-1]}\n" for m in MSGS)
free_peers = queue.Queue()
for k in range(1, peers + 1):
    free_peers.put(5000 + k)

def cvpn_client(host, port, spec):
    return [client, "-H", host, "-p", str(port), "-c", spec, "--allow-insecure", "-q",
            "--timeout", "60"] + [a for m in MSGS for a in ("-m", m)]

def run(pairing, spec, host):
    port = None
    if pairing == "cvpn-client -> cvpn-server":
        cmd = cvpn_client(host, 4600, spec)
    elif pairing == "cvpn-client -> cvpn-mitm -> cvpn-server":
        cmd = cvpn_client("192.0.2.2", 4601, spec)
    elif pairing == "labpeer client -> cvpn-server":
        cmd = ["/usr/bin/python3", "tests/interop/labpeer.py", "client", "--host", host, "--port", "4600",
               "--ciphers", spec, "--skip-residue-check", "--timeout", "60", "-m"] + MSGS
    else:
        port = free_peers.get()
        cmd = cvpn_client(host, port, spec)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        rc, text = out.returncode, out.stdout + out.stderr
    except subprocess.TimeoutExpired as exc:
        rc, text = 124, f"timed out: {exc}"
    finally:
        if port is not None:
            free_peers.put(port)
    if pairing.startswith("labpeer"):
        good = rc == 0 and "".join(l + "\n" for l in text.splitlines() if l.startswith("Server says")) == EXPECTED
    else:
        good = rc == 0 and text == EXPECTED
    return pairing, spec.split(":")[0], good, f"{spec} via {host}: exit {rc}: {text.strip()[:300]}"

jobs = []
for name, sizes in CIPHERS.items():
    for i in range(50):
        spec, host = f"{name}:{sizes[i % len(sizes)]}", ("192.0.2.2" if i % 2 else "2001:db8::2")
        for pairing in ("cvpn-client -> cvpn-server", "labpeer client -> cvpn-server",
                        "cvpn-client -> labpeer server"):
            jobs.append((pairing, spec, host))
        if i < 5:
            jobs.append(("cvpn-client -> cvpn-mitm -> cvpn-server", spec, host))
results = {}
with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
    for pairing, name, good, detail in pool.map(lambda j: run(*j), jobs):
        results.setdefault((pairing, name), []).append((good, detail))
for (pairing, name), rs in results.items():
    bad = [d for g, d in rs if not g]
    status = "ok" if not bad else "not ok"
    print(f"{status} - lossy path: {pairing}, {name}: {len(rs) - len(bad)} of {len(rs)} sessions complete")
    for d in bad[:3]:
        print(f"#   {d}")
PYEOF
check "cvpn-server: no session failed" sh -c "! grep -q '^\(\[[0-9]*\] \)\?Closing' '$TMP/server.log'"
grep '^\(\[[0-9]*\] \)\?Closing' "$TMP/server.log" | head -n 5 | sed 's/^/#   server: /'
# What went wrong in the mitm, if anything did: its lines of a session that did not end well.
grep -i 'fail\|bad\|cut\|error\|refus\|reject\|malformed\|timed out' "$TMP/mitm.log" | head -n 5 | sed 's/^/#   mitm: /'
kill "$IMPAIR_PID" 2>/dev/null; wait "$IMPAIR_PID" 2>/dev/null
echo "# impair.py: $(cat "$TMP/impair.err")"
check "the link lost packets (the test is not vacuous)" \
	sh -c "[ \"\$(sed -n 's/.*dropped \([0-9]*\).*/\1/p' '$TMP/impair.err')\" -gt 100 ]"
finish
