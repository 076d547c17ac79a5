# SPDX-License-Identifier: GPL-2.0
"""What the renderers of `make bench` share: the one summary of a sample they print
(median, quartiles by the inclusive method, so a sample of one is its own quartiles,
extremes and size), and how they write what they rendered."""
import json
import os
import statistics


def summary(xs):
    xs = sorted(xs)
    if not xs:
        return None
    q1, _, q3 = (statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1
                 else (xs[0], xs[0], xs[0]))
    return dict(median=statistics.median(xs), q1=q1, q3=q3, min=xs[0], max=xs[-1], n=len(xs))


def write_outputs(out, name, text, result):
    """NAME.md (text) and NAME.json (result) in directory out; text on stdout."""
    with open(os.path.join(out, f"{name}.md"), "w") as fp:
        fp.write(text)
    with open(os.path.join(out, f"{name}.json"), "w") as fp:
        json.dump(result, fp, indent=1)
    print(text, end="")
