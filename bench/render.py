#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn mq_peek_bench's BENCH lines into a table (stdout), JSON, Markdown and a PNG."""
import json
import sys
from collections import defaultdict

raw, out = sys.argv[1], sys.argv[2]
rows, skips, msgsize, anatomy, copy = [], [], [], [], {}
for line in open(raw, errors="replace"):
    f = line.split()
    if f[:1] == ["BENCH"] and len(f) in (7, 9):
        rows.append(dict(n=int(f[1]), size=int(f[2]), contender=f[3], reps=int(f[4]),
                         ns_per_msg=float(f[5]), max_hold_ns=int(f[6]),
                         holds_over_100us=int(f[7]) if len(f) == 9 else None,
                         calls=int(f[8]) if len(f) == 9 else None))
    elif f[:1] == ["BENCH-SKIP"]:
        skips.append(" ".join(f[1:]))
    elif f[:1] == ["BENCH-ANATOMY"] and len(f) == 3:
        anatomy.append(dict(step=f[1], ns_per_call=float(f[2])))
    elif f[:1] == ["BENCH-COPY"] and len(f) == 3:
        copy[int(f[1])] = float(f[2])
    elif f[:1] == ["BENCH-MSGSIZE"] and len(f) == 4:
        msgsize.append(dict(msgsize=int(f[1]), case=f[2], ns_per_call=float(f[3])))

cell = defaultdict(dict)
for r in rows:
    cell[(r["n"], r["size"])][r["contender"]] = r
for (n, size), c in cell.items():
    drain = c.get("drain", {}).get("ns_per_msg")
    for r in c.values():
        r["ratio_to_drain"] = round(r["ns_per_msg"] / drain, 3) if drain else None

order = ["peek_fwd", "peek_rev", "peek_rand", "peek_fwd_rfc", "peek_head", "batch_fwd",
         "drain", "drain_resend", "sysv_copy"]


def size_str(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else f"{s >> 10} KiB" if s >= 1024 else f"{s} B"


# Targets of the issues ("mq_peek.rs v2" and the batched read), judged on this run's numbers.
verdicts = []


def target(desc, value, limit, floor=None):
    note = f" (copy_to_user alone: {floor:.2f}x)" if floor is not None else ""
    verdicts.append((f"{desc} <= {limit}x", value <= limit, f"{value:.2f}x{note}"))


def copy_floor(size, drain_ns):
    """What handing size bytes to user space once costs, as a ratio to a receive of them."""
    if size in copy and 16 in copy and size > 16:
        return (copy[size] - copy[16]) / drain_ns
    return None


for (n, size), c in sorted(cell.items()):
    if "drain" not in c:
        continue
    where = f"n={n}, {size_str(size)}"
    if "peek_head" in c:
        target(f"peek at offset 0 vs one receive ({where})",
               c["peek_head"]["ratio_to_drain"], 1.2 if size < 4096 else 1.05)
    if "peek_fwd" in c and n == 65536 and size == 16:
        target(f"forward F_MQ_PEEK dump vs drain ({where})", c["peek_fwd"]["ratio_to_drain"], 1.5)
    if "batch_fwd" in c and (n, size) in ((65536, 16), (1024, 4096), (10, 1 << 20)):
        limit = {16: 0.5, 4096: 0.8, 1 << 20: 1.05}[size]
        target(f"F_MQ_PEEK_BATCH dump vs drain ({where})", c["batch_fwd"]["ratio_to_drain"], limit,
               copy_floor(size, c["drain"]["ns_per_msg"]))
an = {a["step"]: a["ns_per_call"] for a in anatomy if a["ns_per_call"] >= 0}
if "peek_16" in an and "mq_receive" in an:
    target("16-byte peek vs one mq_receive (anatomy, 5 x 50,000 calls)",
           an["peek_16"] / an["mq_receive"], 1.2)
ms = {(m["msgsize"], m["case"]): m["ns_per_call"] for m in msgsize}
for case in ("peek_1byte", "enomsg"):
    if (64, case) in ms and (8 << 20, case) in ms:
        target(f"{case} in a queue of mq_msgsize 8 MiB vs 64",
               ms[(8 << 20, case)] / ms[(64, case)], 1.2)

lines = ["| n | size | " + " | ".join(order) + " | longest lock hold (µs) |",
         "|---:|---:|" + "---:|" * len(order) + "---|"]
for (n, size), c in sorted(cell.items()):
    vals = []
    for k in order:
        r = c.get(k)
        vals.append("–" if not r else
                    f"{r['ns_per_msg'] / 1000:.2f} µs ({r['ratio_to_drain']:.2f}×)"
                    + ("" if r["reps"] > 1 else "¹"))
    holds = [f"{k.removeprefix('peek_')} {c[k]['max_hold_ns'] / 1000:.0f}"
             + (f" ({c[k]['holds_over_100us']}/{c[k]['calls']})"
                if c[k].get("holds_over_100us") is not None else "")
             for k in order if k in c and c[k]["max_hold_ns"] >= 0]
    lines.append(f"| {n} | {size_str(size)} | " + " | ".join(vals) + " | " + ", ".join(holds) + " |")
md = ["# mq-peek benchmark (release kernel, TCG)", "",
      "Per message: median of the measured runs, in µs, and (×) the ratio to `drain` "
      "(mq_receive) of the same queue. ¹ one run only (a run took > 8 s). "
      "Lock holds: the longest single hold of the queue's lock by the module, in µs, and "
      "(k/N) k holds longer than 100 µs during N calls, measured in the warm-up run "
      "(hold timing is switched on only then).", ""]
md += lines + [""]
if skips:
    md += ["Skipped (queue memory beyond the VM's budget):", ""] + [f"- {s}" for s in skips] + [""]
if anatomy:
    md += ["Anatomy of one 16-byte peek, by subtraction (one queue holding one message; "
           "ns per call, median of 5 runs of 50,000 calls):", "",
           "| call | ns | what it adds |", "|---|---:|---|"]
    what = {"fcntl_getfl": "the fcntl() system call itself",
            "peek_einval": "+ provider dispatch (SRCU), queue lookup, reading the attr",
            "peek_enomsg": "+ taking and releasing the queue's lock, finding no message",
            "peek_length_query": "+ finding the message, writing msg_prio back",
            "peek_16": "+ copying 16 bytes under the lock and to user space",
            "mq_send": "for comparison", "mq_receive": "for comparison"}
    for a in anatomy:
        ns = "n/a" if a["ns_per_call"] < 0 else f"{a['ns_per_call']:.0f}"
        md.append(f"| {a['step']} | {ns} | {what.get(a['step'], '')} |")
    md.append("")
if msgsize:
    md += ["Cost of one F_MQ_PEEK against the queue's mq_msgsize (one 1-byte message, a buffer "
           "of mq_msgsize bytes; offset 0, and offset 1 for ENOMSG), ns per call:", "",
           "| mq_msgsize | peek_1byte | enomsg |", "|---:|---:|---:|"]
    for size in sorted({m["msgsize"] for m in msgsize}):
        md.append(f"| {size_str(size)} | {ms.get((size, 'peek_1byte'), 0):.0f} | "
                  f"{ms.get((size, 'enomsg'), 0):.0f} |")
    md.append("")
if copy:
    md += ["What copying alone costs here: pread() of a page-cached file, ns per call, and "
           "pread(size) - pread(16 B), the kernel's copy_to_user() of size bytes. A reader "
           "that hands every byte to user space once cannot cost less per message than "
           "that, however few system calls it makes; the targets below show it as a "
           "ratio to the drain of the same cell.", "",
           "| size | pread | copy_to_user |", "|---:|---:|---:|"]
    for size in sorted(copy):
        md.append(f"| {size_str(size)} | {copy[size]:.0f} | "
                  + (f"{copy[size] - copy[16]:.0f} |" if size > 16 and 16 in copy else "– |"))
    md.append("")
md += ["Targets:", ""] + [f"- {'MET ' if ok else 'MISSED'} {d}: {v}" for d, ok, v in verdicts]
open(f"{out}/results.md", "w").write("\n".join(md) + "\n")
json.dump(dict(rows=rows, skipped=skips, msgsize=msgsize, anatomy=anatomy, copy_ns=copy,
               targets=[dict(target=d, met=ok, value=v) for d, ok, v in verdicts]),
          open(f"{out}/results.json", "w"), indent=1)
print("\n".join(md))

import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sizes = sorted({s for _, s in cell})
fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4.5), squeeze=False)
for ax, size in zip(axes[0], sizes):
    for k in order:
        pts = sorted((n, c[k]["ns_per_msg"] / 1000) for (n, s), c in cell.items()
                     if s == size and k in c)
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=k)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("messages in the queue (n)")
    ax.set_ylabel("µs per message")
    ax.set_title(f"payload {size_str(size)}")
    ax.grid(True, which="both", alpha=0.3)
axes[0][0].legend(fontsize=8)
fig.suptitle("Dumping a POSIX message queue: cost per message (release kernel, TCG)")
fig.tight_layout()
fig.savefig(f"{out}/results.png", dpi=90)
print(f"\nbench: {out}/results.md, results.json, results.png")
