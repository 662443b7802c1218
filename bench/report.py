"""The bench's one table (Markdown, so it pastes into docs/benchmarks.md as it is) and its chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.common import Measurement


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def b1_ratios(rows: Sequence[Measurement]) -> list[tuple[str, str, float]]:
    """(ours variant, compared with, ratio): ours / peer on runs/s, and ours / ceiling."""
    b1 = [r for r in rows if r.bench == "B1"]
    mine = [r for r in b1 if r.system == "ours"]
    others = [r for r in b1 if r.system != "ours"]
    out: list[tuple[str, str, float]] = []
    for own in mine:
        for other in others:
            same_store = other.system in ("ceiling", "Celery") or other.variant == own.variant
            if same_store:
                label = "ceiling (share)" if other.system == "ceiling" else f"{other.system} {other.variant}"
                out.append((own.variant, label, own.metrics["runs_per_s"] / other.metrics["runs_per_s"]))
    return out


def table(rows: Sequence[Measurement]) -> str:
    lines = ["| bench | system | variant | result | note |", "|---|---|---|---|---|"]
    for row in rows:
        metrics = ", ".join(f"{name} {_fmt(value)}" for name, value in row.metrics.items())
        lines.append(f"| {row.bench} | {row.system} | {row.variant} | {metrics} | {row.note} |")
    ratios = b1_ratios(rows)
    if ratios:
        lines += ["", "| B1: ours | against | ratio (runs/s, ours ÷ theirs) |", "|---|---|---|"]
        lines += [f"| {own} | {other} | {ratio:.2f}x |" for own, other, ratio in ratios]
    return "\n".join(lines)


def chart(rows: Sequence[Measurement], path: Path) -> Path | None:
    """A bar chart of B1 runs/s; None when matplotlib is missing or there is no B1 row."""
    b1 = [r for r in rows if r.bench == "B1"]
    if not b1:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    labels = [f"{r.system}\n{r.variant.split(',')[0]}" for r in b1]
    values = [r.metrics["runs_per_s"] for r in b1]
    colors = ["#2b6cb0" if r.system == "ours" else "#a0aec0" if r.system == "ceiling" else "#ed8936" for r in b1]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    bars = ax.bar(labels, values, color=colors)
    ax.bar_label(bars, fmt="%.0f")
    ax.set_ylabel("runs / s (8 steps each)")
    ax.set_title("B1 pipeline throughput, same machine, same run")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
