#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn mq_criu_bench's raw lines into a table (stdout), criu.json and criu.md.

The queue's share of a dump is dump_queue - dump_empty of the same round (wall time of the
whole `criu dump`), and, with much less noise, the read and image stages of the same
dump_queue from its -v4 log's timestamps; both are compared with a drain (mq_receive of
every message) and a drain+resend of the same queue measured in the same round, and with
the same shares of `criu dump --posix-mqueue-drain` (mq_peek.ko unloaded: draining the
queue in a dump, image and put-back included).  Every ratio is the median of the per-round ratios, with the interquartile range; the target
(the queue's share <= 1x a drain, a drain+resend, and a draining dump's) is judged on the median, and flagged "noisy" when the
spread is wider than the median's distance to 1.
"""
import sys
from collections import defaultdict

from benchstats import summary, write_outputs

raw, out = sys.argv[1], sys.argv[2]
R = defaultdict(lambda: defaultdict(dict))  # R[key][contender][round] = ns
S = defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))  # S[key][contender][stage][round]
img, notes, wall = {}, [], None
for line in open(raw, errors="replace"):
    f = line.split()
    if f[:1] == ["BENCH-CRIU"] and len(f) == 5:
        R[f[1]][f[2]][f[3]] = float(f[4])
    elif f[:1] == ["BENCH-CRIU-STAGE"] and len(f) == 6:
        S[f[1]][f[2]][f[4]][f[3]] = float(f[5])
    elif f[:1] == ["BENCH-CRIU-IMG"] and len(f) == 3:
        img[f[1]] = int(f[2])
    elif f[:1] == ["BENCH-CRIU-NOTE"]:
        notes.append(" ".join(f[1:]))
    elif f[:1] == ["BENCH-CRIU-WALL"]:
        wall = int(f[1])


def rounds(c):
    return {r: v for r, v in c.items() if r != "w"}


def rstr(p, digits=2):
    if not p:
        return "–"
    return f"{p['median']:.{digits}f}× ({p['q1']:.{digits}f}–{p['q3']:.{digits}f})"


def ms(p):
    return f"{p['median'] / 1e6:.1f}" if p else "–"


def size_str(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else f"{s >> 10} KiB" if s >= 1024 else f"{s} B"


def cell_name(k):
    n, s = (int(x) for x in k.split(":"))
    return f"{n:,} × {size_str(s)}"


result = dict(cells={}, verdicts=[], notes=notes, wall_s=wall)
lines = []
for key in sorted(R, key=lambda k: -int(k.split(":")[0])):
    c = R[key]
    dq, de, dr, rs, br = (rounds(c.get(x, {})) for x in
                          ("dump_queue", "dump_empty", "drain", "drain_resend", "batch_read"))
    common = sorted(set(dq) & set(de) & set(dr) & set(rs))
    share = {r: dq[r] - de[r] for r in common}
    sq = S[key]["dump_queue"]
    rd, im, tot = (rounds(sq.get(x, {})) for x in ("read", "image", "total"))
    st = sorted(set(rd) & set(im) & set(dr))
    st_rs = sorted(set(rd) & set(im) & set(rs))
    staged = {r: rd[r] + im[r] for r in st}
    # Draining it in a dump: criu dump --posix-mqueue-drain, mq_peek.ko unloaded.
    dd = rounds(c.get("dump_drain", {}))
    dcommon = sorted(set(dq) & set(de) & set(dd))
    dshare = {r: dd[r] - de[r] for r in dcommon}
    sd = S[key]["dump_drain"]
    rdd, imd = (rounds(sd.get(x, {})) for x in ("read", "image"))
    dst = sorted(set(rd) & set(im) & set(rdd) & set(imd))
    cell = dict(
        rounds=len(common),
        ns={n: summary(list(rounds(c.get(n, {})).values()))
            for n in ("dump_queue", "dump_empty", "dump_drain", "drain", "drain_resend",
                      "batch_read")},
        share_ns=summary(list(share.values())),
        share_over_drain=summary([share[r] / dr[r] for r in common]),
        share_over_drain_resend=summary([share[r] / rs[r] for r in common]),
        dump_queue_over_empty=summary([dq[r] / de[r] for r in common]),
        stage_ns={x: summary(list(v.values())) for x, v in
                  (("read", rd), ("image", im), ("total", tot))},
        staged_share_ns=summary(list(staged.values())),
        staged_over_drain=summary([staged[r] / dr[r] for r in st]),
        staged_over_drain_resend=summary([(rd[r] + im[r]) / rs[r] for r in st_rs]),
        read_over_drain=summary([rd[r] / dr[r] for r in st]),
        image_over_drain=summary([im[r] / dr[r] for r in st]),
        batch_over_drain=summary([br[r] / dr[r] for r in sorted(set(br) & set(dr))]),
        criu_copy_over_drain=summary([(rd[r] - br[r]) / dr[r]
                                      for r in sorted(set(rd) & set(br) & set(dr))]),
        outside_log_ns=summary([dq[r] - tot[r] for r in sorted(set(dq) & set(tot))]),
        drain_rounds=len(dcommon),
        drain_share_ns=summary(list(dshare.values())),
        share_over_drain_dump=summary([(dq[r] - de[r]) / dshare[r] for r in dcommon]),
        drain_staged_ns=summary([rdd[r] + imd[r] for r in dst]),
        staged_over_drain_dump=summary([(rd[r] + im[r]) / (rdd[r] + imd[r]) for r in dst]),
        image_bytes=img.get(key))
    result["cells"][key] = cell
    wall_share = "the queue's share of criu dump (wall, with - without)"
    stages_share = "the queue's stages of criu dump (read + entry, -v4 log)"
    in_dump = "the same in criu dump --posix-mqueue-drain"
    resend = "a drain that sends every message back (what any draining dump must do at least)"
    for what, against, p in ((wall_share, "a drain", cell["share_over_drain"]),
                             (stages_share, "a drain", cell["staged_over_drain"]),
                             (wall_share, resend, cell["share_over_drain_resend"]),
                             (stages_share, resend, cell["staged_over_drain_resend"]),
                             (wall_share, in_dump, cell["share_over_drain_dump"]),
                             (stages_share, in_dump, cell["staged_over_drain_dump"])):
        if not p:
            continue
        spread = p["q3"] - p["q1"]
        noisy = p["n"] < 3 or spread > abs(p["median"] - 1)
        result["verdicts"].append(dict(
            target=f"{cell_name(key)}: {what} <= 1x {against}",
            met=p["median"] <= 1, value=round(p["median"], 3), q1=round(p["q1"], 3),
            q3=round(p["q3"], 3), pairs=p["n"], noisy=bool(noisy)))

md = ["# make bench-criu: criu dump of a process holding a POSIX message queue", "",
      "Release kernel, mq_peek.ko loaded, CRIU 4.2 with criu/patches/ (F_MQ_PEEK_BATCH). "
      "Per round: `criu dump` of the holder with the queue (*dump queue*) and without it "
      "(*dump empty*), `mq_receive` of every message (*drain*), and receive all + send all "
      "back (*drain+resend*), in alternating order; the queue's share is dump queue − dump "
      "empty of the same round. Ratios: median of the per-round ratios (interquartile range). "
      "Times: medians, ms.", "",
      "| queue | rounds | dump queue | dump empty | queue's share | drain | drain+resend "
      "| **share / drain** | share / drain+resend | dump queue / dump empty |",
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for key, cell in result["cells"].items():
    ns = cell["ns"]
    md.append(f"| {cell_name(key)} | {cell['rounds']} | {ms(ns['dump_queue'])} | "
              f"{ms(ns['dump_empty'])} | {ms(cell['share_ns'])} | {ms(ns['drain'])} | "
              f"{ms(ns['drain_resend'])} | **{rstr(cell['share_over_drain'])}** | "
              f"{rstr(cell['share_over_drain_resend'])} | "
              f"{rstr(cell['dump_queue_over_empty'])} |")
md += ["", "Where the queue's time goes, from the timestamps of each dump_queue's `-v4` log "
       "(medians, ms; ratios to the drain of the same round): *read* runs from the log line "
       "before \"Read N messages of queue\" to it (the F_MQ_PEEK_BATCH calls and, after "
       "each, the writing of its messages to posix-mqueue-data.img straight from the batch "
       "buffer), *of which the kernel* is batch_read, the same F_MQ_PEEK_BATCH calls alone, "
       "timed in this process in the same round, and *the image data* the rest (read − "
       "kernel); *entry* runs from \"Dumping queue\" to the next line (the queue's "
       "posix_mqueue_entry, without its messages, packed and written). *outside the log*: "
       "the dump's wall time minus its log's first-to-last span (criu's start and exit).", "",
       "| queue | **read + entry / drain** | read + entry / drain+resend | read / drain "
       "| of which the kernel (F_MQ_PEEK_BATCH) / drain | the image data (read − kernel) "
       "/ drain | entry / drain | read, entry (ms) | log span, outside the log (ms) "
       "| image size |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for key, cell in result["cells"].items():
    sg = cell["stage_ns"]
    md.append(f"| {cell_name(key)} | **{rstr(cell['staged_over_drain'])}** | "
              f"{rstr(cell['staged_over_drain_resend'])} | {rstr(cell['read_over_drain'])} | {rstr(cell['batch_over_drain'])} | "
              f"{rstr(cell['criu_copy_over_drain'])} | {rstr(cell['image_over_drain'])} | "
              f"{ms(sg['read'])}, {ms(sg['image'])} | {ms(sg['total'])}, "
              f"{ms(cell['outside_log_ns'])} | "
              f"{size_str(cell['image_bytes']) if cell['image_bytes'] else '–'} |")
md += ["", "Against draining the queue in a dump: `criu dump --posix-mqueue-drain` of the "
       "same holder with mq_peek.ko unloaded (*dump drain*, in the same rounds; CRIU "
       "receives every message, writes them to the image and sends them all back). Its "
       "share is dump drain − dump empty of the same round; its stages run from the line "
       "before \"Drained N messages of queue\" to it, and the entry as above.", "",
       "| queue | rounds | dump drain | its share | **share / its share** | its read + entry "
       "| **read + entry / its read + entry** |",
       "|---|---:|---:|---:|---:|---:|---:|"]
for key, cell in result["cells"].items():
    md.append(f"| {cell_name(key)} | {cell['drain_rounds']} | {ms(cell['ns']['dump_drain'])} | "
              f"{ms(cell['drain_share_ns'])} | **{rstr(cell['share_over_drain_dump'])}** | "
              f"{ms(cell['drain_staged_ns'])} | **{rstr(cell['staged_over_drain_dump'])}** |")
md += ["", "Verdicts (target: dumping the queue costs no more than draining it would; judged "
       "against a bare drain, which writes no image and leaves the queue empty, against a "
       "drain that sends every message back, which writes no image either, and against a "
       "dump that drains):", ""]
for v in result["verdicts"]:
    md.append(f"- {v['target']}: **{'met' if v['met'] else 'MISSED'}**, {v['value']}× "
              f"({v['q1']}–{v['q3']}, {v['pairs']} rounds)"
              + (" — *noisy*: the spread is wider than the distance to 1" if v["noisy"] else ""))
if notes:
    md += ["", "Notes: " + "; ".join(notes)]
if wall:
    md += ["", f"Wall time of the run (build excluded): {wall} s."]

text = "\n".join(md) + "\n"
write_outputs(out, "criu", text, result)
