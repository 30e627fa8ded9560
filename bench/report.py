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
    return t + fwd_targets(rows)


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


def fwd_vs(rows, what, name, key, aead, refs, goal, ref_what, unit):
    """cvpn with aead against the fastest of refs (each repetition against the fastest of that
    repetition; the median of those ratios). The ceiling is plain TCP's ratio to the same references:
    no tunnel can pass what the loopback does without one."""
    mine = fwd_reps(rows, name, f"cvpn-{aead}", key)
    theirs = {p: fwd_reps(rows, name, p, key) for p in refs}
    plain = fwd_reps(rows, name, "plain", key)
    med = {p: statistics.median(v.values()) for p, v in theirs.items() if v}
    best = max(med, key=med.get) if med else None
    t = target(rows, "7", what, statistics.median(mine.values()) if mine else None, med.get(best), goal,
               unit=unit, ref_what=f"{ref_what}: {FWD_LABEL[best] if best else 'none measured'}")

    def fastest(k):
        v = [theirs[p][k] for p in refs if k in theirs[p]]
        return max(v) if v else None
    with_ratios(t, [mine[k] / fastest(k) for k in mine if fastest(k)], goal)
    ceiling = [plain[k] / fastest(k) for k in plain if fastest(k)]
    with_ceiling(t, statistics.median(ceiling) if ceiling else None, goal)
    if t["value"] is None and f"cvpn-{aead}" in fwd_unavailable(rows):
        t["unavailable"] = fwd_unavailable(rows)[f"cvpn-{aead}"]
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


def fwd_table(peers):
    def f(v, d=0):
        return "-" if v is None else f"{v:,.{d}f}"
    lines = [f"{'forwarding, medians':<28} {'bulk x1':>9} {'cpu c/s':>8} {'bulk x8':>9} {'conn/s':>8} "
             f"{'open p50':>9} {'open p99':>9} {'rtt p50':>8} {'open +':>7} {'KiB/ch':>7}",
             f"{'':<28} {'MB/s':>9} {'%':>8} {'MB/s':>9} {'':>8} {'us':>9} {'us':>9} {'us':>8} {'us':>7} "
             f"{'idle':>7}"]
    for p in FWD_PEERS:
        d = peers[p]
        if d["unavailable"]:
            lines.append(f"{d['label']:<28} not available: {d['unavailable']}")
            continue
        cpu = "-" if d["bulk1_client_cpu_pct"] is None else \
            f"{d['bulk1_client_cpu_pct']:.0f}/{d['bulk1_server_cpu_pct']:.0f}"
        lines.append(f"{d['label']:<28} {f(d['bulk1_mb_per_s']):>9} {cpu:>8} {f(d['bulk8_mb_per_s']):>9} "
                     f"{f(d['connections_per_s']):>8} {f(d['open_p50_us']):>9} {f(d['open_p99_us']):>9} "
                     f"{f(d['rtt_p50_us']):>8} {f(d['open_cost_us']):>7} {f(d['kib_per_idle_channel'], 1):>7}")
    a = peers["aead_mb_per_s"]
    lines.append("the AEAD alone on one core (openssl speed, 16 KiB): "
                 + ", ".join(f"{k} {f(v)} MB/s" for k, v in a.items()))
    lines.append("cpu c/s: the share of a core the tunnel's client and server used during bulk x1; open +: what "
                 "opening a connection adds beyond a round trip on an open channel, less plain TCP's (its connect); "
                 "KiB/ch: the server side's VmRSS per idle channel (all its processes)")
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
    ap.add_argument("--only", choices=("forward",), help="only the forwarding section's rows (bench/forward.sh)")
    args = ap.parse_args()

    rows = load(args.results)
    hold_want = 10000 if not args.smoke else 200
    ts = fwd_targets(rows) if args.only else targets(rows, hold_want)
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
    print(fwd_table(doc["forwarding"]))
    busy = doc["run"]["busy_pct_by_section"]
    if "forward" in busy:
        print(f"forwarding: the machine was {busy['forward']}% busy at the start of the section and "
              f"{busy.get('forward_end', '?')}% at its end (other work than the bench's shows here)")
    print("ceiling of the forwarding rows (7): plain TCP's ratio to the same references, since no tunnel passes "
          "the loopback; 'not available': cvpn's side could not run at all, for the reason above")
    if errors:
        print(f"{len(errors)} measurement(s) reported failures or errors (see {args.out}):")
        for r in errors[:8]:
            print(f"  {r.get('name')}: {r.get('error') or r.get('last_error') or 'failures=' + str(r.get('failures'))}")
    print(f"results: {args.out}")
    missing = [t for t in ts if t["target"] != "-" and (t["value"] is None or t["reference"] is None)]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
