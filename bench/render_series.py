#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn mq_series_bench's raw lines (several boots) into a table, series.json, series.md.

Boots come in pairs, one of the patched release kernel (module loaded) and one of the
unpatched one, labelled patched-I / unpatched-I.  In each boot and round, a send+receive
pair is divided by the pipe write+read of the same round (the reference, which cancels
the host's speed of that moment); a boot's figure is the median over its rounds.  Rounds
of two boots ran at different times, so they are not paired one to one: a pair of boots
gives one ratio, patched-I's figure over unpatched-I's, and the result is the median of
those ratios over the pairs of boots, with their interquartile range (the spread from
boot to boot, what decides whether the figure can be trusted).  The target (within 2 %:
<= 1.02x) is judged on that median and flagged "noisy" when the spread is wider than the
median's distance to 1.02.  Also shown: the pooled ratio (every patched round's figure
against every unpatched one's, medians), and the raw ratio (without the pipe).
"""
import statistics
import sys
from collections import defaultdict

from benchstats import summary, write_outputs

raw, out = sys.argv[1], sys.argv[2]
LIMIT = 1.02
B = defaultdict(lambda: defaultdict(dict))  # B[label][contender][round] = ns per op
wall = None
for line in open(raw, errors="replace"):
    f = line.split()
    if f[:1] == ["BENCH-SERIES"] and len(f) == 5 and f[3] != "w":
        B[f[1]][f[2]][int(f[3])] = float(f[4])
    elif f[:1] == ["BENCH-SERIES-WALL"]:
        wall = int(f[1])


def rstr(p, digits=3):
    if not p:
        return "–"
    return f"{p['median']:.{digits}f}× ({p['q1']:.{digits}f}–{p['q3']:.{digits}f})"


pairs = sorted({lab.split("-", 1)[1] for lab in B if lab.startswith("patched-")} &
               {lab.split("-", 1)[1] for lab in B if lab.startswith("unpatched-")}, key=int)
result = dict(pairs_of_boots=len(pairs), cells={}, boots={}, verdicts=[], wall_s=wall)
for lab in sorted(B):
    result["boots"][lab] = {c: summary(list(v.values())) for c, v in B[lab].items()}

def normed(lab, c):
    """A boot's send+receive / pipe, round by round."""
    b = B[lab]
    return [b[c][r] / b["ref_pipe"][r] for r in sorted(set(b[c]) & set(b["ref_pipe"]))]


for c, depth in (("pair_d0", 0), ("pair_d1024", 1024)):
    per_pair, rawr = [], []
    for i in pairs:
        p, u = normed(f"patched-{i}", c), normed(f"unpatched-{i}", c)
        if p and u:
            per_pair.append(statistics.median(p) / statistics.median(u))
            rawr.append(statistics.median(B[f"patched-{i}"][c].values()) /
                        statistics.median(B[f"unpatched-{i}"][c].values()))
    pooled_p = [x for i in pairs for x in normed(f"patched-{i}", c)]
    pooled_u = [x for i in pairs for x in normed(f"unpatched-{i}", c)]
    cell = dict(depth=depth, normalised=summary(per_pair), raw=summary(rawr),
                per_pair_of_boots=[round(x, 4) for x in per_pair],
                pooled=(statistics.median(pooled_p) / statistics.median(pooled_u)
                        if pooled_p and pooled_u else None),
                patched_over_ref=summary(pooled_p), unpatched_over_ref=summary(pooled_u))
    result["cells"][c] = cell
    p = cell["normalised"]
    if p:
        spread = p["q3"] - p["q1"]
        noisy = p["n"] < 3 or spread > abs(p["median"] - LIMIT)
        result["verdicts"].append(dict(
            target=f"send+receive at depth {depth}, patched / unpatched <= {LIMIT}x",
            met=p["median"] <= LIMIT, value=round(p["median"], 4), q1=round(p["q1"], 4),
            q3=round(p["q3"], 4), pairs=p["n"], noisy=bool(noisy)))

md = ["# make bench-series: a send+receive pair, patched kernel against unpatched", "",
      f"{len(pairs)} pairs of boots (release kernel with kernel/patches and mq_peek.ko "
      "loaded; release-unpatched, the same source and config without the series), the "
      "order alternating from pair to pair. In each boot, rounds of 16-byte "
      "`mq_send`+`mq_receive` on an empty queue (depth 0) and on one holding 1,024 "
      "messages (depth 1024), and a 16-byte pipe write+read (the reference), in alternating "
      "order. A boot's figure: the median over its rounds of send+receive ÷ pipe of the same "
      "round. **Patched / unpatched**: for each pair of boots, the patched boot's figure ÷ "
      "the unpatched one's; median over the pairs (interquartile range over the pairs). "
      "Pooled: the median of every patched round's figure ÷ that of every unpatched one. "
      "Raw: per pair of boots, the ratio of the medians of send+receive alone (no pipe).", "",
      "| cell | **patched / unpatched** (pairs of boots) | each pair of boots | pooled | raw "
      "| send+receive / pipe, patched rounds | unpatched rounds | verdict (≤ 1.02×) |",
      "|---|---:|---|---:|---:|---:|---:|---|"]
for c, cell in result["cells"].items():
    v = next((v for v in result["verdicts"] if f"depth {cell['depth']}," in v["target"]), None)
    verdict = "–"
    if v:
        verdict = ("met" if v["met"] else "**MISSED**") + (" (*noisy*)" if v["noisy"] else "")
    md.append(f"| depth {cell['depth']} | **{rstr(cell['normalised'])}** | "
              f"{', '.join(f'{x:.3f}' for x in cell['per_pair_of_boots'])} | "
              f"{cell['pooled']:.3f}× | {rstr(cell['raw'])} | {rstr(cell['patched_over_ref'])} | "
              f"{rstr(cell['unpatched_over_ref'])} | {verdict} |")
md += ["", "Per boot, median ns per operation:", "",
       "| boot | send+receive, depth 0 | depth 1024 | pipe write+read |", "|---|---:|---:|---:|"]
for lab, b in result["boots"].items():
    def f(c):
        return f"{b[c]['median']:.0f}" if b.get(c) else "–"
    md.append(f"| {lab} | {f('pair_d0')} | {f('pair_d1024')} | {f('ref_pipe')} |")
md += ["", "*noisy*: the spread of the ratios is wider than the median's distance to 1.02×: "
       "this run cannot tell."]
if wall:
    md += ["", f"Wall time (boots included, builds excluded): {wall} s."]
text = "\n".join(md) + "\n"
write_outputs(out, "series", text, result)
