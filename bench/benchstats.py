# SPDX-License-Identifier: GPL-2.0
"""The one summary of a sample every renderer of `make bench` prints: median, quartiles
(inclusive method, so a sample of one is its own quartiles), extremes and size."""
import statistics


def summary(xs):
    xs = sorted(xs)
    if not xs:
        return None
    q1, _, q3 = (statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1
                 else (xs[0], xs[0], xs[0]))
    return dict(median=statistics.median(xs), q1=q1, q3=q3, min=xs[0], max=xs[-1], n=len(xs))
