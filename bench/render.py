#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn mq_peek_bench's raw lines into tables (stdout), JSON, Markdown and a PNG.

Every figure is interleaved: contenders ran in rounds (A B | B A | ...), so a ratio is
the median of the per-round ratios of a pair (each round's two runs were next to each
other in time), given with its spread, the interquartile range of those ratios.  A target
is judged on that median; a verdict whose spread is wider than the median's distance to
the limit is flagged "noisy": this run cannot tell.
"""
import json
import statistics
import sys
from collections import defaultdict

from benchstats import summary

raw, out = sys.argv[1], sys.argv[2]
# T[table][key][contender][round] = ns; round "w" warm-up, "s" the only run, "1".."N"
T = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
holds, skips, notes, checks, config, wall = {}, [], [], [], "", None
for line in open(raw, errors="replace"):
    f = line.split()
    if f[:1] == ["BENCH-T"] and len(f) == 6:
        T[f[1]][f[2]][f[3]][f[4]] = float(f[5])
    elif f[:1] == ["BENCH-HOLD"] and len(f) == 6:
        holds[(f[1], f[2])] = dict(max_hold_ns=int(f[3]), holds_over_100us=int(f[4]),
                                   calls=int(f[5]))
    elif f[:1] == ["BENCH-SKIP"]:
        skips.append(" ".join(f[1:]))
    elif f[:1] == ["BENCH-NOTE"]:
        notes.append(" ".join(f[1:]))
    elif f[:1] == ["BENCH-CHECK"]:
        checks.append(" ".join(f[1:]))
    elif f[:1] == ["BENCH-CONFIG"]:
        config = " ".join(f[1:])
    elif f[:1] == ["BENCH-WALL"]:
        wall = int(f[1])


def measured(runs):
    """The measured runs of a contender: the rounds, or its only run."""
    if "s" in runs:
        return {"s": runs["s"]}
    return {r: v for r, v in runs.items() if r not in ("w", "s")}


def value(runs):
    m = measured(runs)
    return summary(list(m.values())) if m else None


def pair(a, b):
    """Median and spread of a/b over the rounds both ran; a single run against b's median."""
    ma, mb = measured(a), measured(b)
    if not ma or not mb:
        return None
    if "s" in ma or "s" in mb:
        s = summary([statistics.median(ma.values()) / statistics.median(mb.values())])
        s["single"] = True
        return s
    common = sorted(set(ma) & set(mb))
    return summary([ma[r] / mb[r] for r in common]) if common else None


def size_str(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else f"{s >> 10} KiB" if s >= 1024 else f"{s} B"


def cell_key(k):
    n, s = k.split(":")
    return int(n), int(s)


def rstr(p, digits=2):
    """A pair ratio as 'median× (q1–q3)'."""
    if not p:
        return "–"
    if p.get("single"):
        return f"{p['median']:.{digits}f}׹"
    return f"{p['median']:.{digits}f}× ({p['q1']:.{digits}f}–{p['q3']:.{digits}f})"


verdicts = []


def target(desc, p, limit, strict=False, extra=""):
    """Judge median(p) <= limit (< limit if strict); flag a spread wider than the margin."""
    if not p:
        return
    m = p["median"]
    ok = m < limit if strict else m <= limit
    spread = p["q3"] - p["q1"]
    noisy = p.get("single") or p["n"] < 3 or spread > abs(m - limit)
    why = ("one run" if p.get("single") else f"{p['n']} pairs" if p["n"] < 3 else
           f"spread {spread:.3f} > distance {abs(m - limit):.3f}") if noisy else ""
    verdicts.append(dict(target=f"{desc} {'<' if strict else '<='} {limit}x", met=ok,
                         value=round(m, 3), q1=round(p["q1"], 3), q3=round(p["q3"], 3),
                         min=round(p["min"], 3), max=round(p["max"], 3), pairs=p["n"],
                         noisy=bool(noisy), why_noisy=why, extra=extra))


# ---- dump cells ---------------------------------------------------------------------------
dump = T["dump"]
cells = sorted(dump, key=cell_key)
order = ["peek_fwd", "peek_rev", "peek_rand", "peek_fwd_rfc", "peek_head", "batch_fwd",
         "drain", "drain_resend", "sysv_copy", "copy_floor"]
corder = ["c_peek_head", "c_peek_fwd", "c_batch_fwd"]
rows = []
for k in cells:
    n, size = cell_key(k)
    c = dump[k]
    row = dict(n=n, size=size, contenders={})
    for name, runs in c.items():
        v = value(runs)
        row["contenders"][name] = dict(
            runs=runs, ns_per_msg=v, single="s" in runs,
            ratio_to_drain=pair(runs, c["drain"]) if "drain" in c else None,
            hold=holds.get((k, name)))
    for rust in ("peek_head", "peek_fwd", "batch_fwd"):
        if rust in c and "c_" + rust in c:
            row["contenders"][rust]["rust_over_c"] = pair(c[rust], c["c_" + rust])
    for b in ("batch_fwd", "c_batch_fwd"):
        if b in c and "copy_floor" in c:
            row["contenders"][b]["over_floor"] = pair(c[b], c["copy_floor"])
    rows.append(row)

for row in rows:
    n, size, c = row["n"], row["size"], row["contenders"]
    where = f"n={n}, {size_str(size)}"
    if "peek_head" in c:
        target(f"peek at offset 0 vs one receive ({where})", c["peek_head"]["ratio_to_drain"],
               1.2 if size < 4096 else 1.05)
    if "peek_fwd" in c and n == 65536 and size == 16:
        target(f"forward F_MQ_PEEK dump vs drain ({where})", c["peek_fwd"]["ratio_to_drain"], 1.5)
    if "batch_fwd" in c and n == 65536 and size == 16:
        target(f"F_MQ_PEEK_BATCH dump vs drain ({where})", c["batch_fwd"]["ratio_to_drain"], 0.5)
    if "batch_fwd" in c and size in (4096, 1 << 20) and "over_floor" in c["batch_fwd"]:
        target(f"F_MQ_PEEK_BATCH dump vs the copy floor ({where})",
               c["batch_fwd"]["over_floor"], 1.1)
    if size == 16 and "rust_over_c" in c.get("peek_head", {}):
        target(f"Rust/C, 16-byte peek at offset 0 ({where})", c["peek_head"]["rust_over_c"],
               1.05)
    for d, what in (("peek_fwd", "forward F_MQ_PEEK dump"), ("batch_fwd", "F_MQ_PEEK_BATCH dump")):
        if "rust_over_c" in c.get(d, {}):
            target(f"Rust/C, {what} ({where})", c[d]["rust_over_c"], 1.0, strict=True)

# ---- anatomy, msgsize, copy ---------------------------------------------------------------
an = T["anatomy"].get("-", {})
anatomy = []
for step, runs in an.items():
    anatomy.append(dict(step=step, ns_per_call=value(runs), runs=runs,
                        ratio_to_receive=pair(runs, an["mq_receive"]) if "mq_receive" in an
                        else None))


def rust_over_c(step):
    """The anatomy's Rust/C pair for `step` (c_`step` the C peer's), if both ran."""
    return pair(an[step], an["c_" + step]) if step in an and "c_" + step in an else None


an_rc, an_rc4k = rust_over_c("peek_16"), rust_over_c("peek_4k")
if "peek_16" in an and "mq_receive" in an:
    target("16-byte peek vs one mq_receive (anatomy, 50,000 calls a round)",
           pair(an["peek_16"], an["mq_receive"]), 1.2)
if an_rc:
    target("Rust/C, one 16-byte peek (anatomy, 50,000 calls a round)", an_rc, 1.05)

ms = T["msgsize"]
msgsize = {}
for case in ("peek_1byte", "enomsg"):
    if "64" in ms and str(8 << 20) in ms and case in ms["64"] and case in ms[str(8 << 20)]:
        p = pair(ms[str(8 << 20)][case], ms["64"][case])
        msgsize[case] = dict(ns_64=value(ms["64"][case]), ns_8m=value(ms[str(8 << 20)][case]),
                             ratio=p)
        target(f"{case} in a queue of mq_msgsize 8 MiB vs 64", p, 1.2)

cp = T["copy"]
copy = {int(s): dict(ns_per_call=value(v["pread"]), runs=v["pread"]) for s, v in cp.items()}

# ---- Markdown -----------------------------------------------------------------------------


def us(v):
    return "–" if not v else f"{v['median'] / 1000:.2f}"


md = ["# mq-peek benchmark (release kernel, TCG)", ""]
if config:
    md += [f"Run: {config}" + (f"; {wall} s from boot to power-off" if wall else "") + ".", ""]
md += ["Contenders are **interleaved**: after a warm-up round, every round runs each contender "
       "once, in one order and then the reverse (A B | B A | ...), so that a change of the "
       "host's speed hits both members of a pair alike. A ratio is the **median of the "
       "per-round ratios** of the pair, with their interquartile range in parentheses. "
       "¹ one run only (a run took > 8 s; its ratio is to the other's median). Times are "
       "medians of the rounds, µs per message.", ""]
if checks:
    md += ["Correctness before timing (both providers against a model of the queue): "
           + "; ".join(checks) + ".", ""]
md += ["## Dumps: every contender, as a ratio to a drain of the same queue", "",
       "| n | size | " + " | ".join(order) + " |", "|---:|---:|" + "---:|" * len(order)]
for row in rows:
    c = row["contenders"]
    vals = []
    for k in order:
        r = c.get(k)
        vals.append("–" if not r else f"{us(r['ns_per_msg'])} µs, {rstr(r['ratio_to_drain'])}"
                    if k != "drain" else f"{us(r['ns_per_msg'])} µs")
    md.append(f"| {row['n']} | {size_str(row['size'])} | " + " | ".join(vals) + " |")
md += ["", "## Rust against C: the same dumps with the C peer (the RFC's algorithm, "
       "bench/c-peer/) loaded in turn", "",
       "Each as a ratio to the drain of the same round, and Rust/C, the median of the "
       "per-round ratios of the two providers' runs.", "",
       "| n | size | peek_head Rust | C | Rust/C | peek_fwd Rust | C | Rust/C | "
       "batch_fwd Rust | C | Rust/C |", "|---:|---:|" + "---:|" * 9]
for row in rows:
    c = row["contenders"]
    if not any(k in c for k in corder):
        continue
    vals = []
    for k in ("peek_head", "peek_fwd", "batch_fwd"):
        vals += [rstr(c.get(k, {}).get("ratio_to_drain")),
                 rstr(c.get("c_" + k, {}).get("ratio_to_drain")),
                 rstr(c.get(k, {}).get("rust_over_c"), 3)]
    md.append(f"| {row['n']} | {size_str(row['size'])} | " + " | ".join(vals) + " |")
md += ["", "## Batched dumps against the copy floor", "",
       "copy_floor: pread() of a page-cached file in the batched dump's shape (the same "
       "bytes, in as many calls of the same size), interleaved with the dumps. No batched "
       "dump that hands every byte to user space once can cost less.", "",
       "| n | size | copy_floor µs | batch_fwd (Rust) / floor | c_batch_fwd / floor |",
       "|---:|---:|---:|---:|---:|"]
for row in rows:
    c = row["contenders"]
    if "copy_floor" not in c:
        continue
    md.append(f"| {row['n']} | {size_str(row['size'])} | {us(c['copy_floor']['ns_per_msg'])} | "
              f"{rstr(c.get('batch_fwd', {}).get('over_floor'))} | "
              f"{rstr(c.get('c_batch_fwd', {}).get('over_floor'))} |")
md += ["", "## The module's lock holds", "",
       "The longest single hold of the queue's lock by mq_peek.ko, in µs, and (k/N) k "
       "holds longer than 100 µs during N calls, in the warm-up run (hold timing is on only "
       "then).", "", "| n | size | holds |", "|---:|---:|---|"]
for row in rows:
    c = row["contenders"]
    hs = [f"{k.removeprefix('peek_')} {c[k]['hold']['max_hold_ns'] / 1000:.0f} "
          f"({c[k]['hold']['holds_over_100us']}/{c[k]['hold']['calls']})"
          for k in order if k in c and c[k].get("hold") and c[k]["hold"]["max_hold_ns"] >= 0]
    if hs:
        md.append(f"| {row['n']} | {size_str(row['size'])} | " + ", ".join(hs) + " |")
md.append("")
if skips:
    md += ["Skipped:", ""] + [f"- {s}" for s in skips] + [""]
if notes:
    md += ["Notes:", ""] + [f"- {s}" for s in notes] + [""]
if anatomy:
    what = {"fcntl_getfl": "the fcntl() system call itself",
            "peek_einval": "+ provider dispatch (SRCU), queue lookup, reading the attr",
            "peek_enomsg": "+ taking and releasing the queue's lock, finding no message",
            "peek_length_query": "+ finding the message, writing msg_prio back",
            "peek_16": "+ copying 16 bytes under the lock and to user space",
            "mq_send": "for comparison", "mq_receive": "for comparison",
            "c_peek_einval": "the C peer: + dispatch, lookup, the attr",
            "c_peek_enomsg": "the C peer: + allocation, the lock, no message",
            "c_peek_16": "the C peer: the whole peek (RFC: kvmalloc, walk, copy, free)",
            "peek_4k": "a 4 KiB peek (second queue): allocation, copy in and out",
            "c_peek_4k": "the C peer: a 4 KiB peek"}
    md += ["## Anatomy of one 16-byte peek", "",
           "By subtraction, one queue holding one message; ns per call, median of the "
           "rounds (50,000 calls each), and the ratio to mq_receive in the same rounds.", "",
           "| call | ns | × mq_receive | what it adds |", "|---|---:|---:|---|"]
    for a in anatomy:
        md.append(f"| {a['step']} | {a['ns_per_call']['median']:.0f} | "
                  f"{rstr(a['ratio_to_receive'])} | {what.get(a['step'], '')} |")
    for what, rc in (("16-byte", an_rc), ("4 KiB", an_rc4k)):
        if rc:
            md += ["", f"Rust/C for one {what} peek: **{rstr(rc, 3)}** "
                   f"(min–max {rc['min']:.3f}–{rc['max']:.3f}, {rc['n']} rounds)."]
    md.append("")
if msgsize:
    md += ["## F_MQ_PEEK against the queue's mq_msgsize", "",
           "One 1-byte message, a buffer of mq_msgsize bytes; offset 0, and offset 1 for "
           "ENOMSG; ns per call, interleaved.", "",
           "| case | mq_msgsize 64 | 8 MiB | 8 MiB / 64 |", "|---|---:|---:|---:|"]
    for case, m in msgsize.items():
        md.append(f"| {case} | {m['ns_64']['median']:.0f} | {m['ns_8m']['median']:.0f} | "
                  f"{rstr(m['ratio'])} |")
    md.append("")
if copy:
    md += ["## What copying alone costs here", "",
           "pread() of a page-cached file, ns per call (interleaved), and pread(size) − "
           "pread(16 B), the kernel's copy_to_user() of size bytes.", "",
           "| size | pread | copy_to_user |", "|---:|---:|---:|"]
    base = copy.get(16, {}).get("ns_per_call")
    for size in sorted(copy):
        v = copy[size]["ns_per_call"]
        md.append(f"| {size_str(size)} | {v['median']:.0f} | "
                  + (f"{v['median'] - base['median']:.0f} |" if base and size > 16 else "– |"))
    md.append("")
md += ["## Targets", "",
       "Judged on the median of the interleaved pair ratios; *noisy*: the pairs' spread "
       "(interquartile range) is wider than the median's distance to the limit, so this "
       "run cannot tell. Withdrawn: F_MQ_PEEK_BATCH ≤ 0.8× a drain at 4 KiB (and ≤ 1.05× "
       "at 1 MiB): a batch copies every byte twice (into a kernel buffer under the lock, "
       "then to user space) where a receive copies once; batched dumps of 4 KiB and 1 MiB "
       "are judged against the copy floor instead.", ""]
for v in verdicts:
    md.append(f"- {'MET   ' if v['met'] else 'MISSED'} {v['target']}: {v['value']:.3f}x "
              f"(IQR {v['q1']:.3f}–{v['q3']:.3f}, min–max {v['min']:.3f}–{v['max']:.3f}, "
              f"{v['pairs']} pair{'s' if v['pairs'] > 1 else ''})"
              + (f" — noisy: {v['why_noisy']}" if v["noisy"] else ""))
met = sum(v["met"] for v in verdicts)
md += ["", f"{met} of {len(verdicts)} targets met, "
       f"{sum(v['noisy'] for v in verdicts)} verdicts noisy."]
open(f"{out}/results.md", "w").write("\n".join(md) + "\n")
json.dump(dict(config=config, wall_s=wall, checks=checks, notes=notes, skipped=skips,
               cells=rows, anatomy=anatomy, anatomy_rust_over_c=an_rc,
               anatomy_rust_over_c_4k=an_rc4k, msgsize=msgsize, copy=copy, targets=verdicts),
          open(f"{out}/results.json", "w"), indent=1)
print("\n".join(md))

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sizes = sorted({r["size"] for r in rows})
if sizes:
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes):
        for k in order + corder:
            pts = sorted((r["n"], r["contenders"][k]["ns_per_msg"]["median"] / 1000)
                         for r in rows if r["size"] == size and k in r["contenders"])
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=k,
                        linestyle="--" if k.startswith("c_") else "-")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("messages in the queue (n)")
        ax.set_ylabel("µs per message")
        ax.set_title(f"payload {size_str(size)}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Dumping a POSIX message queue: cost per message, Rust (solid) and the C "
                 "peer (dashed) (release kernel, TCG)")
    fig.tight_layout()
    fig.savefig(f"{out}/results.png", dpi=90)
print(f"\nbench: {out}/results.md, results.json, results.png")
