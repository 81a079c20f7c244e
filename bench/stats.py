"""Pure helpers of the bench: percentiles, ratios, sizes and the text table it prints.

Kept free of I/O so ``tests/bench`` can check them exactly.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Distribution of one measurement, in the unit of its samples."""

    n: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float


def summarize(samples: Sequence[float]) -> Summary:
    """p50/p95/p99 by ``statistics.quantiles`` (inclusive method: the estimate stays within
    the observed range, which matters for the small run counts of cold starts)."""
    if not samples:
        raise ValueError("no samples")
    if len(samples) == 1:
        only = float(samples[0])
        return Summary(1, only, only, only, only, only)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Summary(
        n=len(samples),
        p50=cuts[49],
        p95=cuts[94],
        p99=cuts[98],
        mean=statistics.fmean(samples),
        max=float(max(samples)),
    )


def ratio(numerator: float, denominator: float) -> str:
    """``"0.42x (42 %)"``; ``"n/a"`` when the denominator is not positive."""
    if denominator <= 0:
        return "n/a"
    value = numerator / denominator
    return f"{value:.2f}x ({value * 100:.0f} %)"


def fmt_ms(value: float) -> str:
    """Milliseconds with precision that suits the magnitude."""
    if value < 10:
        return f"{value:.2f} ms"
    if value < 100:
        return f"{value:.1f} ms"
    return f"{value:.0f} ms"


def fmt_bytes(size: int) -> str:
    """Decimal units, as AWS states Lambda's limits (50 MB, 250 MB)."""
    if size < 1000:
        return f"{size} B"
    if size < 1000**2:
        return f"{size / 1000:.1f} kB"
    return f"{size / 1000**2:.2f} MB"


def fmt_rate(count: int, seconds: float, unit: str) -> str:
    if seconds <= 0:
        return "n/a"
    return f"{count / seconds:,.0f} {unit}/s"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A fixed-width text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
