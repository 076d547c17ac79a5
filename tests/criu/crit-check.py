#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""crit-check.py CRIT OUTPUT - decode the images of the crit_images case with crit.

tests/criu/criu-tests.sh's crit_images case dumps test/zdtm/static/posix_mqueue
--mode=flags of the CRIU series with `criu dump --leave-running` and prints its
posix-mqueue.img, posix-mqueue-data.img and files.img, tar'ed and base64'd, between
"CRIT-IMAGES-BEGIN pid=PID" and "CRIT-IMAGES-END" (the VM has no python).  This decodes
them with CRIT (the wrapper scripts/build-criu.sh leaves in $MQ_PEEK_CACHE/criu/crit), as
`crit decode --pretty` and `crit show` print them for a user, and checks every field
against what the ZDTM test made: the queue's name, attributes, mode, owner, times, its
message count and bytes; each message's priority and bytes in receive order, from the
records of posix-mqueue-data.img (each an entry with the priorities and lengths of its
messages and their bytes after it, as crit's "extra"; a record at offset 0 starts the
queue again); and the three open file descriptions of the queue with their flags.
Prints "#" diagnostics; exits 0 if all is as it must be.
"""
import base64
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile

# test/zdtm/static/posix_mqueue.c, --mode=flags: one queue (index 0), 3 messages of at
# most 64 bytes, maxmsg 10, mode 0640, uid 1001, gid 2001, times set long ago, and the
# descriptors O_RDWR, O_RDONLY | O_NONBLOCK, O_WRONLY.
QIDX, NMSGS, MAXMSG, MSGSIZE = 0, 3, 10, 64
MODE, UID, GID = 0o640, 1001, 2001
ATIME, MTIME = 1000000000 + QIDX * 86400, 900000000 + QIDX * 86400
O_WRONLY, O_RDWR, O_NONBLOCK = 0o1, 0o2, 0o4000
FLAGS = sorted([O_RDWR, O_NONBLOCK, O_WRONLY])


def msg_prio(n):
    return (n * 7919 + QIDX) % 32


def msg_bytes(n):
    length = (n * 104729 + 13) % (MSGSIZE + 1)
    return bytes((n * 31 + i * 7 + QIDX * 101) & 0xff for i in range(length))


def receive_order():
    """Highest priority first, FIFO within a priority."""
    return [n for p in range(31, -1, -1) for n in range(NMSGS) if msg_prio(n) == p]


def crit(tool, *args):
    r = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError("crit %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r.stdout


def main():
    tool, output = sys.argv[1], sys.argv[2]
    with open(output, errors="replace") as f:
        text = f.read()
    m = re.search(r"^CRIT-IMAGES-BEGIN pid=(\d+)\n(.*?)^CRIT-IMAGES-END$", text, re.S | re.M)
    if not m:
        print("# crit-check: no images between CRIT-IMAGES-BEGIN and CRIT-IMAGES-END")
        return 1
    pid = int(m.group(1))
    errors = []

    def expect(what, got, want):
        if got != want:
            errors.append("%s is %r, not %r" % (what, got, want))

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(m.group(2))), mode="r:gz") as tar:
            for member in ("posix-mqueue.img", "posix-mqueue-data.img", "files.img"):
                with open(tmp + "/" + member, "wb") as f:
                    f.write(tar.extractfile(member).read())
        img = tmp + "/posix-mqueue.img"
        pretty = crit(tool, "decode", "-i", img, "--pretty")
        shown = crit(tool, "show", img)
        data = json.loads(crit(tool, "decode", "-i", tmp + "/posix-mqueue-data.img", "--pretty"))
        shown_data = crit(tool, "show", tmp + "/posix-mqueue-data.img")
        files = json.loads(crit(tool, "decode", "-i", tmp + "/files.img"))

    d = json.loads(pretty)
    expect("the magic of posix-mqueue.img", d.get("magic"), "POSIX_MQUEUE")
    if len(d.get("entries", [])) != 1:
        print("# crit-check: %d queues in posix-mqueue.img, not 1" % len(d.get("entries", [])))
        return 1
    q = d["entries"][0]
    name = "zdtm-%d-flags" % pid
    print("# crit-check: queue %s: %s" % (q.get("name"), ", ".join(
        "%s %s" % (k, q.get(k)) for k in ("maxmsg", "msgsize", "mode", "uid", "gid", "atime_sec", "mtime_sec"))))
    expect("name", q.get("name"), name)
    expect("unlinked", q.get("unlinked"), False)
    expect("maxmsg", q.get("maxmsg"), MAXMSG)
    expect("msgsize", q.get("msgsize"), MSGSIZE)
    expect("mode (pretty: hex)", q.get("mode"), "0x%x" % MODE)
    expect("uid", q.get("uid"), UID)
    expect("gid", q.get("gid"), GID)
    expect("atime_sec", q.get("atime_sec"), ATIME)
    expect("mtime_sec", q.get("mtime_sec"), MTIME)
    expect("the magic of posix-mqueue-data.img", data.get("magic"), "POSIX_MQ_DATA")
    msgs = []
    for rec in data.get("entries", []):
        expect("the queue id of a record", rec.get("queue_id"), q.get("id"))
        offset = int(rec.get("offset", -1))
        if offset == 0:
            msgs = []
        expect("the offset of a record", offset, len(msgs))
        prios, lens = rec.get("prio", []), rec.get("len", [])
        raw = base64.b64decode(rec.get("extra", ""))
        expect("the priorities and lengths of a record", len(prios), len(lens))
        expect("the bytes of a record", (len(raw), int(rec.get("bytes", -1))), (sum(lens), sum(lens)))
        pos = 0
        for prio, length in zip(prios, lens):
            msgs.append({"prio": prio, "data": raw[pos:pos + length]})
            pos += length
    expect("msg_count", int(q.get("msg_count", -1)), len(msgs))
    expect("msg_bytes", int(q.get("msg_bytes", -1)), sum(len(m["data"]) for m in msgs))
    order = receive_order()
    expect("the number of messages", len(msgs), NMSGS)
    for i, (msg, n) in enumerate(zip(msgs, order)):
        payload = msg["data"]
        print("# crit-check: message %d: prio %s, %d bytes" % (i, msg.get("prio"), len(payload)))
        expect("message %d's priority" % i, msg.get("prio"), msg_prio(n))
        expect("message %d's bytes" % i, payload, msg_bytes(n))
    if name not in shown or '"msg_count"' not in shown:
        errors.append("crit show does not print the queue")
    if '"prio"' not in shown_data or '"extra"' not in shown_data:
        errors.append("crit show does not print the messages of posix-mqueue-data.img")

    pmq = [e for e in files.get("entries", []) if e.get("type") == "POSIX_MQUEUE"]
    expect("the number of open file descriptions of the queue in files.img", len(pmq), 3)
    expect("their queue id", sorted({e.get("pmq", {}).get("queue_id") for e in pmq}), [q.get("id")])
    expect("their flags (O_ACCMODE | O_NONBLOCK)",
           sorted(e.get("pmq", {}).get("flags", -1) & (0o3 | O_NONBLOCK) for e in pmq), FLAGS)

    for e in errors:
        print("# crit-check: " + e)
    return 1 if errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError, ValueError, KeyError, AttributeError, tarfile.TarError) as err:
        print("# crit-check: %s" % err)
        sys.exit(1)
