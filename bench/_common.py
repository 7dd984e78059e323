"""Helpers shared by the benchmarks: percentiles, medians of repeated runs, tables.

Benchmarks run greenpool and its peers side by side in one process and one
run, repeat each measurement, and report medians and ratios: the machines
are noisy, single numbers are not.
"""

from __future__ import annotations

import datetime
import platform
import statistics
import sys
import textwrap
from collections.abc import Collection, Mapping, Sequence
from typing import Any

sys.path.insert(0, __file__.rsplit("/", 2)[0])  # run from a checkout without installing


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value at ``fraction`` (0..1) of the sorted values (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of latencies given in seconds, in milliseconds."""
    return {
        "p50_ms": percentile(seconds, 0.50) * 1000,
        "p99_ms": percentile(seconds, 0.99) * 1000,
        "max_ms": (max(seconds) if seconds else 0.0) * 1000,
    }


def median_of(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """The per-key median of several runs' figures."""
    keys = runs[0].keys()
    return {key: statistics.median(run[key] for run in runs) for key in keys}


def print_table(title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Print rows (dicts) as an aligned table with the given columns."""
    print(f"\n{title}")
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  " + "  ".join(c.rjust(widths[c]) if i else c.ljust(widths[c])
                           for i, c in enumerate(columns)))
    for row in rows:
        cells = []
        for i, c in enumerate(columns):
            text = _fmt(row.get(c))
            cells.append(text.rjust(widths[c]) if i else text.ljust(widths[c]))
        print("  " + "  ".join(cells))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value) if value is not None else ""


def verdict(name: str, ok: bool, detail: str) -> str:
    """One line saying whether a target was met."""
    return f"  [{'met' if ok else 'NOT MET'}] {name}: {detail}"


def plot_sweep(
    path: str,
    title: str,
    ylabel: str,
    series: Mapping[str, Mapping[int, float]],
    *,
    reference: tuple[str, float] | None = None,
    note: str = "",
    dashed: Collection[str] = (),
) -> None:
    """Write a PNG: one line per contender of a figure against the number of greenlets.

    ``series`` maps a contender to ``{greenlets: value}``; ``reference`` is
    drawn as a dashed horizontal line, and so are the contenders named in
    ``dashed`` (ceilings rather than peers).  The x axis is logarithmic.  The
    footer says when and where it was measured, and ``note``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    # Many lines: the legend goes to the right, off the lines.
    outside = len(series) + (reference is not None) > 4
    fig, ax = plt.subplots(figsize=(10.5 if outside else 7.5, 4.5), dpi=110)
    levels: set[int] = set()
    for name, points in series.items():
        xs = sorted(points)
        levels.update(xs)
        ax.plot(xs, [points[x] for x in xs], marker="o", linewidth=2, label=name,
                linestyle="--" if name in dashed else "-")
    if reference is not None:
        ax.axhline(reference[1], linestyle="--", color="grey", label=reference[0])
    ax.set_xscale("log")
    ax.set_xticks(sorted(levels))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:,.0f}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda _x, _pos: ""))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:,.0f}"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("greenlets")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if outside:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    else:
        ax.legend()
    footer = (f"{datetime.date.today()}, {platform.python_implementation()} "
              f"{platform.python_version()}, {_cores()} cores; medians. {note}")
    fig.text(0.01, 0.01, textwrap.fill(footer.strip(), 130), fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    print(f"\nplot written to {path}")


def _cores() -> int:
    import os

    return os.cpu_count() or 1
