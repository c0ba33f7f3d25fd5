"""Each benchmark figure beside its target, with a verdict; `make benchmark`'s summary table.

A benchmark calls `check(...)` for every figure that has a target: it prints one line (the
figure, the target, "met" or "MISSED") and, when the environment names a results file
(`BENCHMARK_RESULTS`, set by `make benchmark`), appends the figure to it as a JSON line.
Run as a script on that file, it prints the table of every figure and exits non-zero if a
target was missed:

    python benchmarks/verdict.py output/benchmark-results.jsonl
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

RESULTS_ENV = "BENCHMARK_RESULTS"


def check(
    benchmark: str,
    figure: str,
    value: float,
    *,
    at_most: float | None = None,
    at_least: float | None = None,
    unit: str = "",
    digits: int = 2,
) -> bool:
    """Print `figure` beside its target and whether it is met; record it for the summary."""
    if (at_most is None) == (at_least is None):
        raise ValueError("a target is either at_most or at_least")
    if at_most is not None:
        met, target = value <= at_most, f"<= {at_most:,.{digits}f}{unit}"
    else:
        assert at_least is not None
        met, target = value >= at_least, f">= {at_least:,.{digits}f}{unit}"
    shown = f"{value:,.{digits}f}{unit}"
    print(f"  {figure}: {shown}   target {target}   {'met' if met else 'MISSED'}")
    results = os.environ.get(RESULTS_ENV)
    if results:
        line = {"benchmark": benchmark, "figure": figure, "value": shown, "target": target}
        with Path(results).open("a") as out:
            out.write(json.dumps({**line, "met": met}) + "\n")
    return met


def summary(path: Path) -> bool:
    """Print the table of every recorded figure; whether every target was met."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    head = ("benchmark", "figure", "value", "target", "verdict")
    table = [head] + [
        (r["benchmark"], r["figure"], r["value"], r["target"], "met" if r["met"] else "MISSED")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table[1:]:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    met = all(r["met"] for r in rows)
    missed = sum(not r["met"] for r in rows)
    print(f"\n{len(rows)} figures: " + ("every target met" if met else f"{missed} MISSED"))
    return met


if __name__ == "__main__":
    sys.exit(0 if summary(Path(sys.argv[1])) else 1)
