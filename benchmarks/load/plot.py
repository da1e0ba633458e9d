"""PNG of the latency distributions of successful requests, both servers, one panel per scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLORS = {"cogpy": "tab:blue", "reference": "tab:orange", "floor": "tab:gray"}


def latency_png(latencies: dict[str, dict[str, np.ndarray]], path: Path, title: str) -> None:
    """`latencies[scenario][side]` holds every successful request's latency in microseconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    # Minor ticks: label 2, 3 and 5 of each decade only, so labels never collide.
    sparse = FuncFormatter(lambda v, _: f"{v:g}" if f"{v:e}"[0] in "235" else "")

    names = list(latencies)
    fig, axes = plt.subplots(
        len(names), 1, figsize=(9, 2.6 * max(len(names), 1)), squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes[:, 0], names, strict=True):
        per_side = {s: v for s, v in latencies[name].items() if len(v)}
        if not per_side:
            ax.text(0.5, 0.5, "no successful requests", ha="center", transform=ax.transAxes)
            ax.set_title(name)
            continue
        lo = max(min(float(v.min()) for v in per_side.values()) / 1000, 1e-3)
        hi = max(float(v.max()) for v in per_side.values()) / 1000
        bins = np.geomspace(lo, hi * 1.01 if hi > lo else lo * 2, 80)
        for side, values in per_side.items():
            ms = values / 1000
            ax.hist(
                ms,
                bins=bins,
                histtype="step",
                density=True,
                linewidth=1.4,
                color=COLORS.get(side),
                label=f"{side} (all rounds: n={len(ms)}, p50 {np.percentile(ms, 50):.3g} ms, "
                f"p99 {np.percentile(ms, 99):.3g} ms)",
            )
            for q, style in ((50, "-"), (99, ":")):
                ax.axvline(np.percentile(ms, q), color=COLORS.get(side), linestyle=style, lw=0.8)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(sparse)
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_yticks([])
        ax.set_title(name, loc="left", fontsize=10)
        ax.legend(fontsize=8, loc="upper right")
    axes[-1, 0].set_xlabel(
        "latency of successful requests, ms (log scale); lines: p50 solid, p99 dotted"
    )
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
