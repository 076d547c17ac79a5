#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn mq_peek_bench's BENCH lines into a table (stdout), JSON, Markdown and a PNG."""
import json
import sys
from collections import defaultdict

raw, out = sys.argv[1], sys.argv[2]
rows, skips = [], []
for line in open(raw, errors="replace"):
    f = line.split()
    if f[:1] == ["BENCH"] and len(f) in (7, 9):
        rows.append(dict(n=int(f[1]), size=int(f[2]), contender=f[3], reps=int(f[4]),
                         ns_per_msg=float(f[5]), max_hold_ns=int(f[6]),
                         holds_over_100us=int(f[7]) if len(f) == 9 else None,
                         calls=int(f[8]) if len(f) == 9 else None))
    elif f[:1] == ["BENCH-SKIP"]:
        skips.append(" ".join(f[1:]))

cell = defaultdict(dict)
for r in rows:
    cell[(r["n"], r["size"])][r["contender"]] = r
for (n, size), c in cell.items():
    drain = c.get("drain", {}).get("ns_per_msg")
    for r in c.values():
        r["ratio_to_drain"] = round(r["ns_per_msg"] / drain, 3) if drain else None

order = ["peek_fwd", "peek_rev", "peek_rand", "peek_fwd_rfc", "peek_head", "drain",
         "drain_resend", "sysv_copy"]


def size_str(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else f"{s >> 10} KiB" if s >= 1024 else f"{s} B"


# Targets of the performance issue, judged on this run's numbers.
verdicts = []
for (n, size), c in sorted(cell.items()):
    if "peek_fwd" in c and "drain" in c and n == 65536 and size == 16:
        r = c["peek_fwd"]["ratio_to_drain"]
        verdicts.append(("full dump of 65536 x 16 B <= 2x drain", r <= 2, f"{r:.2f}x"))
    if "peek_head" in c and "drain" in c:
        r = c["peek_head"]["ratio_to_drain"]
        verdicts.append((f"peek at offset 0 <= 1.1x one receive (n={n}, {size_str(size)})",
                         r <= 1.1, f"{r:.2f}x"))
    if "peek_fwd" in c and "drain_resend" in c:
        a, b = c["peek_fwd"]["ns_per_msg"], c["drain_resend"]["ns_per_msg"]
        verdicts.append((f"dump faster than drain+re-enqueue (n={n}, {size_str(size)})",
                         a < b, f"{a / b:.2f}x"))

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
      "(k/N) k holds longer than 100 µs during N peeks.", ""]
md += lines + [""]
if skips:
    md += ["Skipped (queue memory beyond the VM's budget):", ""] + [f"- {s}" for s in skips] + [""]
md += ["Targets:", ""] + [f"- {'MET ' if ok else 'MISSED'} {d}: {v}" for d, ok, v in verdicts]
open(f"{out}/results.md", "w").write("\n".join(md) + "\n")
json.dump(dict(rows=rows, skipped=skips,
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
