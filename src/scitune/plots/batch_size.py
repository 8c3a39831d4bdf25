"""The steps-vs-batch-size plot: measured steps to a result per batch size against perfect scaling."""

from __future__ import annotations

from pathlib import Path

from scitune.analysis.batch_size import BatchScaling


def steps_png(result: BatchScaling, path: str | Path, title: str = "Steps to result vs batch size") -> Path:
    """A log-log PNG: measured steps per batch size, and the perfect-scaling line through the
    smallest batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table
    fig, ax = plt.subplots(figsize=(6, 4))
    if not table.empty:
        b, s = table["batch_size"].astype(float), table["steps"].astype(float)
        ax.plot(b, s, "o-", label="best tuned trial")
        ax.plot(b, s.iloc[0] * b.iloc[0] / b, "--", color="grey", label="perfect scaling")
        if result.critical_batch_size is not None:
            ax.axvline(result.critical_batch_size, color="tab:red", alpha=0.4, label="end of perfect scaling")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("steps to reach the target")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
