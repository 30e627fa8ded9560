#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Turns the runner's measurements (one JSON object a line) into the table of
ratios against the targets of docs/PERFORMANCE.md, and writes everything to
one JSON file.

    bench/report.py RESULTS.jsonl OUT.json [--elapsed S] [--smoke 0|1] ...

Each figure is the median of its repetitions; a ratio is taken between the
medians of the two sides, which were measured interleaved in the same run.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time


def load(path):
    """Return the measurement rows; a line that does not parse becomes an error row."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                rows.append({"name": "?", "error": "unparsable", "raw": line})
    return rows


def values(rows, name, key):
    """All usable values of key in the rows called name (a failed run gives none)."""
    out = []
    for r in rows:
        if r.get("name") != name or r.get("error") or key not in r:
            continue
        if r.get("failures", 0) and name not in ("lab_handshakes", "secure_handshakes", "secure_handshakes_c1"):
            continue
        out.append(float(r[key]))
    return out


def median(rows, name, key="per_s"):
    v = values(rows, name, key)
    return statistics.median(v) if v else None


def machine():
    """What the numbers were measured on."""
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu MHz", "cache size") and key not in info:
                    info[key] = val.strip()
                if key == "flags" and "flags" not in info:
                    flags = val.split()
                    info["flags"] = " ".join(x for x in ("aes", "avx2", "bmi2", "adx", "sha_ni", "hypervisor")
                                             if x in flags)
        with open("/proc/meminfo", encoding="utf-8") as f:
            info["memory"] = f.readline().split(":")[1].strip()
    except OSError:
        pass
    for name, cmd in (("openssl", ["openssl", "version"]),
                      ("libuv", ["pkg-config", "--modversion", "libuv"])):
        try:
            info[name] = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            info[name] = "?"
    return info


def target(rows, tid, what, value, ref, goal, higher=True, unit="/s", ref_what=""):
    """One line of the table: value against ref, and whether value/ref meets goal (None: context only)."""
    ratio = value / ref if value is not None and ref else None
    met = None if ratio is None or goal is None else (ratio >= goal if higher else ratio <= goal)
    goal_text = "-" if goal is None else (">= " if higher else "<= ") + f"{goal:g}"
    return {"id": tid, "measurement": what, "value": value, "reference": ref, "reference_is": ref_what,
            "unit": unit, "ratio": ratio, "target": goal_text, "met": met}


def with_ratios(t, ratios, goal):
    """Row t's ratio as the median of runs' own ratios (each from the same minutes), when there are any."""
    if ratios:
        t["ratio"] = statistics.median(ratios)
        t["met"] = None if goal is None else t["ratio"] >= goal
    return t


def in_pairs(t, rows, name, ref, goal):
    """Row t's ratio as the median of the ratios of runs of name each followed by a run of ref
    (a repetition of the two, taken next to each other), when there are such pairs."""
    last, ratios = None, []
    for r in rows:
        if r.get("name") == name and not r.get("error") and r.get("per_s"):
            last = float(r["per_s"])
        elif r.get("name") == ref and last and r.get("per_s"):
            ratios.append(last / float(r["per_s"]))
            last = None
    return with_ratios(t, ratios, goal)


def with_ceiling(t, ceiling, goal):
    """Adds to row t the best ratio no implementation can beat, and whether a miss is explained
    by it (the ceiling below goal)."""
    t["ceiling"] = None if ceiling is None else round(ceiling, 3)
    t["bounded"] = bool(t["met"] is False and ceiling is not None and ceiling < goal)
    return t


def paired(rows, tid, what, name, goal, ref_what):
    """A target measured in paired runs: the ratio is the median of the runs' own ratios. Each run
    had the profile's primitives alone as a third group in the same turns (loadgen --ceiling-port:
    echo --lab-primitives or --secure-primitives), and the median of their ratios is the ceiling:
    the primitives cost more between kernel passes than in a loop, and that cost is no
    implementation's choice either. Below the goal, the ceiling says whether any implementation
    through EVP could have met it."""
    t = target(rows, tid, what, median(rows, name), median(rows, name, "baseline_per_s"), goal, ref_what=ref_what)
    with_ratios(t, values(rows, name, "ratio"), goal)
    c = values(rows, name, "ceiling_ratio")
    return with_ceiling(t, statistics.median(c) if c else None, goal)


def primitives(rows, tid, what, name, ref_what):
    """The primitives alone, from the third group of name's runs: a context row."""
    t = target(rows, tid, what, median(rows, name, "ceiling_per_s"), median(rows, name, "baseline_per_s"), None,
               ref_what=ref_what)
    t["ratio"] = None
    return with_ratios(t, values(rows, name, "ceiling_ratio"), None)


def targets(rows, hold_want):
    """Every row of the table: its figure, its reference, their ratio and the target."""
    lab = median(rows, "lab_handshakes")
    sec = median(rows, "secure_handshakes")
    bound, python = median(rows, "dhbound", "lab_bound_hs_per_s"), median(rows, "python_client")
    t = [
        target(rows, "1a", "lab handshakes/s (group 18)", lab, bound, 0.8, ref_what="DH bound: OpenSSL keygen+derive, same core"),
        with_ceiling(target(rows, "1b", "lab handshakes/s vs Python peer", lab, python, 100,
                            ref_what="labpeer.py client sessions/s"),
                     bound / python if bound and python else None, 100),
        target(rows, "1c", "lab handshakes/s vs Python as server", lab, median(rows, "python_server"), None,
               ref_what="labpeer.py server, same load generator"),
        in_pairs(target(rows, "2a", "secure handshakes/s (Noise IK)", sec, median(rows, "tls_stime"), 2,
                        ref_what="TLS 1.3 s_time new conn/s, in pairs"), rows, "secure_handshakes", "tls_stime", 2),
        target(rows, "2b", "secure handshakes/s vs X25519 bound", sec,
               median(rows, "dhbound", "x25519_bound_hs_per_s"), None,
               ref_what="5 X25519 ops per handshake, same core"),
    ]
    # Paired runs: each row holds the measured rate, its plain baseline and their ratio.
    for size in (64, 1024):
        for prof in ("lab", "secure"):
            t.append(paired(rows, "3", f"round trips/s, {prof}, {size} B", f"rtt_{prof}_{size}", 0.9,
                            f"TCP echo, {size} B, paired"))
    for size in (64, 1024):
        for prof in ("lab", "secure"):
            t.append(primitives(rows, "3", f"round trips/s, {prof} primitives, {size} B", f"rtt_{prof}_{size}",
                                f"TCP echo, {size} B, same runs (the {prof} crypto alone)"))
    t.append(paired(rows, "3", "round trips/s, lab engine client, 64 B", "rtt_lab_engine_64", None,
                    "TCP echo, 64 B, paired (the client's whole engine)"))
    t.append(paired(rows, "3", "round trips/s, secure AESGCM, 64 B", "rtt_secure_aesgcm_64", None,
                    "TCP echo, 64 B, paired (the other suite)"))
    for prof in ("lab", "secure"):
        t.append(paired(rows, "4", f"messages/s, 100 clients, {prof}", f"thr_{prof}", 0.7,
                        "TCP echo, 100 clients, paired"))
    for prof in ("lab", "secure"):
        t.append(primitives(rows, "4", f"messages/s, 100 clients, {prof} primitives", f"thr_{prof}",
                            f"TCP echo, 100 clients, same runs (the {prof} crypto alone)"))
    t.append(paired(rows, "4", "messages/s, 100 clients, secure engine", "thr_secure_engine", None,
                    "TCP echo, 100 clients, paired (the client's whole engine)"))
    t.append(paired(rows, "4", "messages/s, 100 clients, secure AESGCM", "thr_secure_aesgcm", None,
                    "TCP echo, 100 clients, paired (the other suite)"))
    t.append(target(rows, "5", "secure sessions held, all answering", median(rows, "hold_secure", "answered"),
                    hold_want, 1.0, unit="sessions", ref_what="10,000 wanted"))
    for prof in ("secure", "lab"):
        t.append(target(rows, "5", f"server memory per session, {prof}",
                        median(rows, f"hold_{prof}", "kib_per_session"), 32, 1.0, higher=False, unit="KiB",
                        ref_what="32 KiB"))
    for prof in ("lab", "secure"):
        t.append(target(rows, "6", f"p99 under {prof} handshake flood", median(rows, f"latency_{prof}", "loaded_p99_us"),
                        median(rows, f"latency_{prof}", "idle_p99_us"), 3, higher=False, unit="us",
                        ref_what="idle p99"))
    return t + fwd_targets(rows) + vpn_targets(rows)


# ---- Forwarding (bench/forward.sh): rows tagged with a peer and a repetition ----

FWD_REFS = {"chacha": ("ssh-chacha", "stunnel-chacha"), "aes": ("ssh-aes", "stunnel-aes")}
FWD_SUITE = {"chacha": "ChaChaPoly", "aes": "AESGCM"}
FWD_PEERS = ("plain", "ssh-chacha", "ssh-aes", "stunnel-chacha", "stunnel-aes", "cvpn-chacha", "cvpn-aes")
FWD_LABEL = {"plain": "plain TCP", "ssh-chacha": "ssh -L chacha20-poly1305", "ssh-aes": "ssh -L aes256-gcm",
             "stunnel-chacha": "stunnel TLS 1.3 CHACHA20", "stunnel-aes": "stunnel TLS 1.3 AES-256-GCM",
             "cvpn-chacha": "cvpn ChaChaPoly", "cvpn-aes": "cvpn AESGCM"}
# The memory a server may keep per idle channel beyond its sockets' kernel buffers (not in VmRSS).
FWD_KIB_PER_CHANNEL = 4


def fwd_reps(rows, name, peer, key):
    """{repetition: value} of name's rows for peer that ran clean."""
    out = {}
    for r in rows:
        if r.get("name") == name and r.get("peer") == peer and not r.get("error") and not r.get("failures") \
                and key in r:
            out[r.get("rep", 1)] = float(r[key])
    return out


def fwd_median(rows, name, peer, key):
    v = list(fwd_reps(rows, name, peer, key).values())
    return statistics.median(v) if v else None


def fwd_open_cost(rows, peer):
    """{repetition: what opening a connection through peer adds, in us}: its open-to-answer beyond a
    round trip on an open channel, less the same for plain TCP in the same repetition (its connect)."""
    def extra(p):
        o, t = fwd_reps(rows, "fwd_rate", p, "open_p50_us"), fwd_reps(rows, "fwd_rate", p, "rtt_p50_us")
        return {k: o[k] - t[k] for k in o if k in t}
    mine, plain = extra(peer), extra("plain")
    return {k: mine[k] - plain[k] for k in mine if k in plain}


def fwd_unavailable(rows):
    """{peer: why} for the peers the runner could not run at all."""
    return {r["peer"]: r.get("why", "?") for r in rows if r.get("name") == "fwd_peer" and r.get("available") is False}


def vs_fastest(rows, tid, what, name, key, mine, refs, plain, goal, ref_what, unit, labels):
    """Peer mine against the fastest of refs (each repetition against the fastest of that repetition;
    the median of those ratios). The ceiling is the plain peer's ratio to the same references: no
    tunnel passes what the link does without one. A reference or mine that could not run at all
    makes the row "not available", with the reason."""
    mine_v = fwd_reps(rows, name, mine, key)
    theirs = {p: fwd_reps(rows, name, p, key) for p in refs}
    plain_v = fwd_reps(rows, name, plain, key)
    med = {p: statistics.median(v.values()) for p, v in theirs.items() if v}
    best = max(med, key=med.get) if med else None
    t = target(rows, tid, what, statistics.median(mine_v.values()) if mine_v else None, med.get(best), goal,
               unit=unit, ref_what=f"{ref_what}: {labels[best] if best else 'none measured'}")

    def fastest(k):
        v = [theirs[p][k] for p in refs if k in theirs[p]]
        return max(v) if v else None
    with_ratios(t, [mine_v[k] / fastest(k) for k in mine_v if fastest(k)], goal)
    ceiling = [plain_v[k] / fastest(k) for k in plain_v if fastest(k)]
    with_ceiling(t, statistics.median(ceiling) if ceiling else None, goal)
    gone = {**fwd_unavailable(rows), **vpn_unavailable(rows)}
    for p in (mine,) + tuple(refs):
        if p in gone and (t["value"] is None or t["reference"] is None):
            t["unavailable"] = f"{labels[p]}: {gone[p]}"
            break
    return t


def fwd_vs(rows, what, name, key, aead, refs, goal, ref_what, unit):
    """cvpn with aead against the fastest of refs of the same AEAD, plain TCP the ceiling."""
    return vs_fastest(rows, "7", what, name, key, f"cvpn-{aead}", refs, "plain", goal, ref_what, unit, FWD_LABEL)


def fwd_path_open(rows):
    """Opening a channel over a path with delay (bench/forward.sh, path_open): open-to-answer beyond a
    round trip on an open channel, in those round trips. Loopback's row counts CPU time alone."""
    r = next((r for r in rows if r.get("name") == "fwd_path"), {})
    ok = not r.get("error") and not r.get("failures") and "open_p50_us" in r and r.get("rtt_p50_us")
    t = target(rows, "7", "what a channel open adds over a path of 5 ms each way, AESGCM",
               float(r["open_p50_us"]) - float(r["rtt_p50_us"]) if ok else None,
               float(r["rtt_p50_us"]) if ok else None, 1.0, higher=False, unit="us",
               ref_what="one round trip on an open channel over that path, p50 (namespaces joined by impair.py)")
    if not ok and r.get("error"):
        t["unavailable"] = r["error"]
    return t


def fwd_targets(rows):
    """Target 7: forwarding through cvpn against plain TCP, ssh -L and stunnel, AEAD for AEAD."""
    t = []
    for aead in ("chacha", "aes"):
        suite, refs = FWD_SUITE[aead], FWD_REFS[aead]
        for name, what in (("fwd_bulk1", "bulk MB/s, 1 connection"), ("fwd_bulk8", "bulk MB/s, 8 at once")):
            t.append(fwd_vs(rows, f"{what}, {suite}", name, "mb_per_s", aead, refs, 1.0,
                            "fastest of ssh -L and stunnel, same AEAD", "MB/s"))
            t.append(fwd_vs(rows, f"{what}, {suite}, vs ssh", name, "mb_per_s", aead, refs[:1], 1.2,
                            "ssh -L, same AEAD", "MB/s"))
        t.append(fwd_vs(rows, f"connections/s, {suite}", "fwd_rate", "per_s", aead, refs, 1.0,
                        "fastest of ssh -L and stunnel, same AEAD", "/s"))
        # Opening a channel: what it adds to plain TCP's open, in round trips of the tunnel itself.
        cost = fwd_open_cost(rows, f"cvpn-{aead}")
        rtt = fwd_reps(rows, "fwd_rate", f"cvpn-{aead}", "rtt_p50_us")
        o = target(rows, "7", f"what a channel open adds, {suite}", statistics.median(cost.values()) if cost else None,
                   statistics.median(rtt.values()) if rtt else None, 1.0, higher=False, unit="us",
                   ref_what="one round trip on an open channel, p50 (the open: beyond it, less plain TCP's)")
        ratios = [cost[k] / rtt[k] for k in cost if rtt.get(k)]
        if ratios:
            o["ratio"] = statistics.median(ratios)
            o["met"] = o["ratio"] <= 1.0
        if o["value"] is None and f"cvpn-{aead}" in fwd_unavailable(rows):
            o["unavailable"] = fwd_unavailable(rows)[f"cvpn-{aead}"]
        t.append(o)
    t.append(fwd_path_open(rows))
    m = target(rows, "7", "server memory per idle channel", fwd_median(rows, "fwd_hold", "cvpn-chacha", "kib_per_channel"),
               FWD_KIB_PER_CHANNEL, 1.0, higher=False, unit="KiB", ref_what="4 KiB (VmRSS: the sockets' buffers are the kernel's)")
    if m["value"] is None and "cvpn-chacha" in fwd_unavailable(rows):
        m["unavailable"] = fwd_unavailable(rows)["cvpn-chacha"]
    t.append(m)
    return t


def fwd_cpu(rows, peer, side):
    """The median share of one core a tunnel's side (client or server) used during bulk x1, in %."""
    s, w = fwd_reps(rows, "fwd_bulk1", peer, f"{side}_cpu_s"), fwd_reps(rows, "fwd_bulk1", peer, "seconds")
    v = [100 * s[k] / w[k] for k in s if w.get(k)]
    return statistics.median(v) if v and peer != "plain" else None


def fwd_peers(rows):
    """Every peer's medians, for the table of all of them and the JSON."""
    out = {}
    for p in FWD_PEERS:
        cost = fwd_open_cost(rows, p) if p != "plain" else {}
        out[p] = {
            "label": FWD_LABEL[p],
            "unavailable": fwd_unavailable(rows).get(p),
            "repetitions": len(fwd_reps(rows, "fwd_bulk1", p, "mb_per_s")),
            "bulk1_mb_per_s": fwd_median(rows, "fwd_bulk1", p, "mb_per_s"),
            "bulk8_mb_per_s": fwd_median(rows, "fwd_bulk8", p, "mb_per_s"),
            "connections_per_s": fwd_median(rows, "fwd_rate", p, "per_s"),
            "open_p50_us": fwd_median(rows, "fwd_rate", p, "open_p50_us"),
            "open_p99_us": fwd_median(rows, "fwd_rate", p, "open_p99_us"),
            "rtt_p50_us": fwd_median(rows, "fwd_rate", p, "rtt_p50_us"),
            "open_cost_us": statistics.median(cost.values()) if cost else None,
            "kib_per_idle_channel": fwd_median(rows, "fwd_hold", p, "kib_per_channel"),
            # How busy each side kept its core during bulk with one connection: the one near 100% bounds it.
            "bulk1_client_cpu_pct": fwd_cpu(rows, p, "client"),
            "bulk1_server_cpu_pct": fwd_cpu(rows, p, "server"),
        }
    out["aead_mb_per_s"] = {r.get("aead"): r.get("mb_per_s") for r in rows if r.get("name") == "fwd_aead"}
    return out


def num(v, d=0):
    return "-" if v is None else f"{v:,.{d}f}"


def peer_table(title, width, cols, peers, order):
    """The lines of a table of peers: two header lines, then a line for each peer in order, whose
    columns are (heading, unit, width, the text of a peer's dict)."""
    lines = [f"{title:<{width}} " + " ".join(f"{h:>{w}}" for h, _, w, _ in cols),
             f"{'':<{width}} " + " ".join(f"{u:>{w}}" for _, u, w, _ in cols)]
    for p in order:
        d = peers[p]
        if d["unavailable"]:
            lines.append(f"{d['label']:<{width}} not available: {d['unavailable']}")
        else:
            lines.append(f"{d['label']:<{width}} " + " ".join(f"{fn(d):>{w}}" for _, _, w, fn in cols))
    return lines


def share(d, a, b):
    """Two cores' shares as "a/b" percent, or "-"."""
    return "-" if d[a] is None else f"{d[a]:.0f}/{d[b]:.0f}"


def fwd_table(peers):
    lines = peer_table("forwarding, medians", 28, [
        ("bulk x1", "MB/s", 9, lambda d: num(d["bulk1_mb_per_s"])),
        ("cpu c/s", "%", 8, lambda d: share(d, "bulk1_client_cpu_pct", "bulk1_server_cpu_pct")),
        ("bulk x8", "MB/s", 9, lambda d: num(d["bulk8_mb_per_s"])),
        ("conn/s", "", 8, lambda d: num(d["connections_per_s"])),
        ("open p50", "us", 9, lambda d: num(d["open_p50_us"])),
        ("open p99", "us", 9, lambda d: num(d["open_p99_us"])),
        ("rtt p50", "us", 8, lambda d: num(d["rtt_p50_us"])),
        ("open +", "us", 7, lambda d: num(d["open_cost_us"])),
        ("KiB/ch", "idle", 7, lambda d: num(d["kib_per_idle_channel"], 1))], peers, FWD_PEERS)
    a = peers["aead_mb_per_s"]
    lines.append("the AEAD alone on one core (openssl speed, 16 KiB): "
                 + ", ".join(f"{k} {num(v)} MB/s" for k, v in a.items()))
    lines.append("cpu c/s: the share of a core the tunnel's client and server used during bulk x1; open +: what "
                 "opening a connection adds beyond a round trip on an open channel, less plain TCP's (its connect); "
                 "KiB/ch: the server side's VmRSS per idle channel (all its processes)")
    return "\n".join(lines)


# ---- The IP VPN (bench/vpn.sh): rows tagged with a peer, a repetition and, for pings, a state ----

VPN_PEERS = ("veth", "cvpn-udp", "cvpn-tcp", "wireguard-go", "openvpn")
VPN_LABEL = {"veth": "bare veth", "cvpn-udp": "cvpn UDP", "cvpn-tcp": "cvpn TCP (--transport tcp)",
             "wireguard-go": "wireguard-go", "openvpn": "OpenVPN UDP AES-256-GCM"}


def vpn_unavailable(rows):
    """{peer: why} for the systems the runner could not run at all."""
    return {r["peer"]: r.get("why", "?") for r in rows if r.get("name") == "vpn_peer" and r.get("available") is False}


def vpn_pings(rows, peer, state):
    """Every ping round trip (us) through peer in state (idle or loaded), all repetitions pooled,
    sorted; and how many were lost."""
    got, lost = [], 0
    for r in rows:
        if r.get("name") == "vpn_ping" and r.get("peer") == peer and r.get("state") == state and not r.get("error"):
            got += r["samples_us"]
            lost += r.get("lost", 0)
    return sorted(got), lost


def pct(v, q):
    """The q-th percentile (nearest rank) of sorted v, or None."""
    return v[max(0, math.ceil(q / 100 * len(v)) - 1)] if v else None


def vpn_added(rows, peer, state, q=50):
    """What peer adds to the bare veth's ping round trip in state, at percentile q (us)."""
    mine, veth = pct(vpn_pings(rows, peer, state)[0], q), pct(vpn_pings(rows, "veth", state)[0], q)
    return mine - veth if mine is not None and veth is not None else None


def vpn_cpu(rows, peer):
    """{repetition: CPU seconds both tunnel ends spent per Gbit carried} (the same as cores per Gbit/s)."""
    out = {}
    for r in rows:
        if r.get("name") == "vpn_tput" and r.get("peer") == peer and not r.get("error") and r.get("bytes"):
            out[r.get("rep", 1)] = (r.get("server_cpu_s", 0) + r.get("client_cpu_s", 0)) / (r["bytes"] * 8 / 1e9)
    return out


def vpn_share(rows, peer, side):
    """The median share of side's CPU time that was the kernel's (stime), during the iperf3 runs."""
    a, k = fwd_reps(rows, "vpn_tput", peer, f"{side}_cpu_s"), fwd_reps(rows, "vpn_tput", peer, f"{side}_sys_s")
    v = [k[r] / a[r] for r in a if a[r] and r in k]
    return statistics.median(v) if v else None


def vpn_targets(rows):
    """Target 8: the IP VPN against wireguard-go and OpenVPN in the same namespaces, the veth the ceiling."""
    t = []
    gone = vpn_unavailable(rows)
    for peer in ("cvpn-udp", "cvpn-tcp"):
        label = VPN_LABEL[peer][:8]
        for ref, goal in (("wireguard-go", 1.0), ("openvpn", 2.0)):
            t.append(vs_fastest(rows, "8", f"iperf3 TCP Mbit/s, {label}, vs {VPN_LABEL[ref].split()[0]}",
                                "vpn_tput", "mbit_per_s", peer, (ref,), "veth", goal, "iperf3 TCP, median of runs",
                                "Mbit/s", VPN_LABEL))
        # Added latency: the ping round trip beyond the bare veth's, under an iperf3 load, p50.
        a = target(rows, "8", f"added ping p50 under load, {label}", vpn_added(rows, peer, "loaded"),
                   vpn_added(rows, "wireguard-go", "loaded"), 1.2, higher=False, unit="us",
                   ref_what="wireguard-go's, beyond the bare veth's, under the same iperf3 load")
        if a["reference"] is not None and a["reference"] <= 0:
            a["ratio"], a["met"] = None, None
        t.append(a)
        c, w = vpn_cpu(rows, peer), vpn_cpu(rows, "wireguard-go")
        t.append(target(rows, "8", f"CPU s per Gbit, both ends, {label}", statistics.median(c.values()) if c else None,
                        statistics.median(w.values()) if w else None, None, higher=False, unit="s",
                        ref_what="wireguard-go's (CPU seconds per Gbit = cores per Gbit/s)"))
        for row in t[-2:]:
            for p in (peer, "wireguard-go"):
                if p in gone and (row["value"] is None or row["reference"] is None):
                    row["unavailable"] = f"{VPN_LABEL[p]}: {gone[p]}"
    m = [r for r in rows if r.get("name") == "vpn_memory" and not r.get("error")]
    t.append(target(rows, "8", "cvpn-server memory per connected client", m[0]["kib_per_client"] if m else None,
                    None, None, unit="KiB",
                    ref_what=(f"VmRSS with {m[0]['clients']} clients less with 1, over {m[0]['clients'] - 1}"
                              if m else "VmRSS with N clients less with 1")))
    return t


def vpn_peers(rows):
    """Every system's medians and percentiles, for the table of all of them and the JSON."""
    out = {}
    for p in VPN_PEERS:
        idle, idle_lost = vpn_pings(rows, p, "idle")
        loaded, loaded_lost = vpn_pings(rows, p, "loaded")
        cpu = vpn_cpu(rows, p)
        srv, cli = fwd_reps(rows, "vpn_tput", p, "server_cpu_s"), fwd_reps(rows, "vpn_tput", p, "client_cpu_s")
        secs = fwd_reps(rows, "vpn_tput", p, "seconds")
        out[p] = {
            "label": VPN_LABEL[p],
            "unavailable": vpn_unavailable(rows).get(p),
            "repetitions": len(fwd_reps(rows, "vpn_tput", p, "mbit_per_s")),
            "mbit_per_s": fwd_median(rows, "vpn_tput", p, "mbit_per_s"),
            "retransmits": fwd_median(rows, "vpn_tput", p, "retransmits"),
            "cpu_s_per_gbit": statistics.median(cpu.values()) if cpu and p != "veth" else None,
            # How busy each end kept its core during the iperf3 run: the one near 100% bounds it.
            "server_cpu_pct": statistics.median(100 * srv[k] / secs[k] for k in srv if secs.get(k))
            if srv and p != "veth" else None,
            "client_cpu_pct": statistics.median(100 * cli[k] / secs[k] for k in cli if secs.get(k))
            if cli and p != "veth" else None,
            # The kernel's part of each end's CPU time: its system calls, and on a veth the peer's receive too.
            "server_sys_share": vpn_share(rows, p, "server"), "client_sys_share": vpn_share(rows, p, "client"),
            # How busy each core was meanwhile, and its softirq share (the kernel's work for the packets).
            **{f"{k}_core_{w}_pct": fwd_median(rows, "vpn_tput", p, f"{k[0]}_core_{w}_pct")
               for k in ("server", "client") for w in ("busy", "softirq")},
            "idle_p50_us": pct(idle, 50), "idle_p99_us": pct(idle, 99), "idle_lost": idle_lost,
            "loaded_p50_us": pct(loaded, 50), "loaded_p99_us": pct(loaded, 99), "loaded_lost": loaded_lost,
            "pings": len(idle) + len(loaded),
            "added_idle_p50_us": vpn_added(rows, p, "idle") if p != "veth" else None,
            "added_loaded_p50_us": vpn_added(rows, p, "loaded") if p != "veth" else None,
        }
    m = [r for r in rows if r.get("name") == "vpn_memory" and not r.get("error")]
    out["memory"] = m[0] if m else None
    out["openvpn_cipher"] = next((r.get("line") for r in rows if r.get("name") == "vpn_cipher"), None)
    return out


def vpn_table(peers):
    lines = peer_table("IP VPN, medians", 26, [
        ("iperf3", "Mbit/s", 8, lambda d: num(d["mbit_per_s"])),
        ("retr", "", 6, lambda d: num(d["retransmits"])),
        ("cpu", "s/Gbit", 6, lambda d: num(d["cpu_s_per_gbit"], 2)),
        ("cpu s/c", "%", 8, lambda d: share(d, "server_cpu_pct", "client_cpu_pct")),
        ("cores", "%", 8, lambda d: share(d, "server_core_busy_pct", "client_core_busy_pct")),
        ("idle p50", "us", 9, lambda d: num(d["idle_p50_us"])),
        ("p99", "us", 7, lambda d: num(d["idle_p99_us"])),
        ("load p50", "us", 9, lambda d: num(d["loaded_p50_us"])),
        ("p99", "us", 7, lambda d: num(d["loaded_p99_us"])),
        ("lost", "", 5, lambda d: str(d["idle_lost"] + d["loaded_lost"])),
        ("added", "us", 7, lambda d: num(d["added_loaded_p50_us"]))], peers, VPN_PEERS)
    m = peers["memory"]
    if m:
        lines.append(f"cvpn-server VmRSS: {m['rss_1_kib']:,} KiB with 1 client, {m['rss_n_kib']:,} KiB with "
                     f"{m['clients']}: {m['kib_per_client']:.1f} KiB per client")
    if peers["openvpn_cipher"]:
        lines.append(f"OpenVPN's log: {peers['openvpn_cipher']}")
    lines.append("cpu s/Gbit: CPU seconds of both tunnel ends per Gbit carried; cpu s/c: the share of a core the "
                 "server and client end used during iperf3; cores: how busy the server's and the client's core were; lost: pings lost, idle and loaded; added: the p50 ping "
                 "under load beyond the bare veth's")
    return "\n".join(lines)


def context(rows):
    """Figures that explain the targets' numbers without a target of their own."""
    c = {
        "lab_bound_hs_per_s": median(rows, "dhbound", "lab_bound_hs_per_s"),
        "x25519_bound_hs_per_s": median(rows, "dhbound", "x25519_bound_hs_per_s"),
        "secure_engine_hs_per_s": median(rows, "dhbound", "secure_engine_hs_per_s"),
        "python_server_hs_per_s": median(rows, "python_server"),
        "secure_handshakes_c1_per_s": median(rows, "secure_handshakes_c1"),
        "tls_stime_x4_per_s": median(rows, "tls_stime_x4"),
        "lab_handshake_p99_ms": median(rows, "lab_handshakes", "p99_ms"),
        "engine_lab_us_per_rt_64": median(rows, "dhbound", "engine_lab_us_per_rt_64"),
        "engine_lab_us_per_rt_1024": median(rows, "dhbound", "engine_lab_us_per_rt_1024"),
        "engine_secure_us_per_rt_64": median(rows, "dhbound", "engine_secure_us_per_rt_64"),
        "engine_secure_us_per_rt_1024": median(rows, "dhbound", "engine_secure_us_per_rt_1024"),
        "crypto_lab_us_per_rt_64": median(rows, "dhbound", "crypto_lab_us_per_rt_64"),
        "crypto_lab_us_per_rt_1024": median(rows, "dhbound", "crypto_lab_us_per_rt_1024"),
        "crypto_secure_us_per_rt_64": median(rows, "dhbound", "crypto_secure_us_per_rt_64"),
        "crypto_secure_us_per_rt_1024": median(rows, "dhbound", "crypto_secure_us_per_rt_1024"),
        "crypto_secure_aesgcm_us_per_rt_64": median(rows, "dhbound", "crypto_secure_aesgcm_us_per_rt_64"),
        "secure_handshake_p99_ms": median(rows, "secure_handshakes", "p99_ms"),
    }
    for prof in ("lab", "secure"):
        for size in (64, 1024):
            c[f"rtt_{prof}_{size}_p99_us"] = median(rows, f"rtt_{prof}_{size}", "p99_us")
            c[f"rtt_plain_{size}_p99_us"] = median(rows, f"rtt_{prof}_{size}", "baseline_p99_us")
        c[f"thr_{prof}_p99_us"] = median(rows, f"thr_{prof}", "p99_us")
        c["thr_plain_p99_us"] = median(rows, f"thr_{prof}", "baseline_p99_us")
    for prof in ("lab", "secure"):
        c[f"latency_{prof}_idle_p50_us"] = median(rows, f"latency_{prof}", "idle_p50_us")
        c[f"latency_{prof}_loaded_p50_us"] = median(rows, f"latency_{prof}", "loaded_p50_us")
        c[f"latency_{prof}_flood_per_s"] = median(rows, f"latency_{prof}", "flood_per_s")
    return c


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit == "us":
        return f"{v:,.0f} us"
    if unit == "KiB":
        return f"{v:.1f} KiB"
    if unit == "sessions":
        return f"{v:,.0f}"
    if unit == "s":
        return f"{v:.2f} s"
    return f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def result(t):
    """met, bounded (missed, but the primitives alone leave less than the target), MISSED, or context;
    not available when the runner could not run cvpn's side at all (forwarding)."""
    if t.get("unavailable"):
        return "not available"
    if t["met"] is None:
        return "context" if t["target"] == "-" else "n/a"
    return "met" if t["met"] else "bounded" if t.get("bounded") else "MISSED"


def table(ts, smoke):
    lines = [f"{'#':<3} {'measurement':<44} {'cvpn':>11} {'reference':>11} {'ratio':>6} {'target':>7} "
             f"{'ceiling':>7}  result", "-" * 106]
    for t in ts:
        ratio = "-" if t["ratio"] is None else f"{t['ratio']:.2f}"
        ceiling = "-" if t.get("ceiling") is None else f"{t['ceiling']:.2f}"
        met = "(smoke)" if smoke and t["met"] is not None else result(t)
        lines.append(f"{t['id']:<3} {t['measurement']:<44} {fmt(t['value'], t['unit']):>11} "
                     f"{fmt(t['reference'], t['unit']):>11} {ratio:>6} {t['target']:>7} {ceiling:>7}  {met}")
        lines.append(f"{'':<3}   vs {t['reference_is']}")
    return "\n".join(lines)


def print_context(c):
    """The figures that explain targets 1 to 6."""
    print(f"context: whole secure handshakes, both engines in memory {fmt(c['secure_engine_hs_per_s'])}/s; "
          f"secure with 1 handshake in flight {fmt(c['secure_handshakes_c1_per_s'])}/s; "
          f"4 s_time clients at once {fmt(c['tls_stime_x4_per_s'])}/s")
    print("context: CPU of one round trip of both engines in memory (no sockets): "
          + ", ".join(f"{p} {n} B {fmt(c[f'engine_{p}_us_per_rt_{n}'])} us" for p in ("lab", "secure") for n in (64, 1024)))
    print("context: the primitives alone of one round trip (EVP, contexts set up once): "
          + ", ".join(f"{p} {n} B {fmt(c[f'crypto_{p}_us_per_rt_{n}'])} us" for p in ("lab", "secure") for n in (64, 1024))
          + f", secure AESGCM 64 B {fmt(c['crypto_secure_aesgcm_us_per_rt_64'])} us")
    print("ceiling: the best ratio the primitives alone leave: for 1b the DH bound (1a) over the Python peer; "
          "for every paired row the ratio of its profile's primitives alone over the same sockets, in the same "
          "runs ('primitives' rows); 'bounded' means missed, with that ceiling below the target")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--elapsed", type=float, default=0)
    ap.add_argument("--smoke", type=int, default=0)
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--fd-limit", default="?")
    ap.add_argument("--busy-start", type=float, default=0)
    ap.add_argument("--only", choices=("forward", "vpn"),
                    help="only the forwarding section's rows (bench/forward.sh) or the IP VPN's (bench/vpn.sh)")
    args = ap.parse_args()

    rows = load(args.results)
    hold_want = 10000 if not args.smoke else 200
    ts = {"forward": fwd_targets, "vpn": vpn_targets}[args.only](rows) if args.only else targets(rows, hold_want)
    errors = [r for r in rows if r.get("error") or (r.get("failures") and r.get("name") != "background")]
    background = [r for r in rows if r.get("name") == "background"]
    doc = {
        "machine": machine(),
        "run": {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "elapsed_s": args.elapsed, "smoke": bool(args.smoke),
                "server_cpu": args.server_cpu, "client_cpu": args.client_cpu, "fd_limit": args.fd_limit,
                "busy_pct_at_start": args.busy_start,
                "busy_pct_by_section": {r.get("section"): r.get("busy_pct") for r in background}},
        "targets": ts,
        "context": {} if args.only else context(rows),
        "forwarding": fwd_peers(rows),
        "vpn": vpn_peers(rows),
        "measurements": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")

    m = doc["machine"]
    print(f"cvpn bench ({'smoke run, not a measurement' if args.smoke else 'full run'}): "
          f"{m.get('model name', '?')}, {m['nproc']} cores, {m.get('memory', '?')}, server cpu "
          f"{args.server_cpu}, load generator cpu {args.client_cpu}, {args.elapsed:.0f} s")
    print(table(ts, args.smoke))
    if not args.only:
        print_context(doc["context"])
    busy = doc["run"]["busy_pct_by_section"]
    for only, what, section, lines, ceiling in (
            ("vpn", "forwarding", "forward", fwd_table(doc["forwarding"]),
             "ceiling of the forwarding rows (7): plain TCP's ratio to the same references, since no tunnel "
             "passes the loopback; 'not available': cvpn's side could not run at all, for the reason above"),
            ("forward", "IP VPN", "vpn", vpn_table(doc["vpn"]),
             "ceiling of the IP VPN rows (8): the bare veth's ratio to the same reference, since no tunnel "
             "passes the link it runs over; 'not available': a system could not run at all, for the reason above")):
        if args.only == only:
            continue
        print(lines)
        if section in busy:
            print(f"{what}: the machine was {busy[section]}% busy at the start of the section and "
                  f"{busy.get(section + '_end', '?')}% at its end (other work than the bench's shows here)")
        print(ceiling)
    if errors:
        print(f"{len(errors)} measurement(s) reported failures or errors (see {args.out}):")
        for r in errors[:8]:
            print(f"  {r.get('name')}: {r.get('error') or r.get('last_error') or 'failures=' + str(r.get('failures'))}")
    print(f"results: {args.out}")
    # A row whose side could not run at all says so ("not available", with the reason) and is no failure.
    missing = [t for t in ts if t["target"] != "-" and (t["value"] is None or t["reference"] is None)
               and not t.get("unavailable")]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
