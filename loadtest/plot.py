"""The timeline picture: attempts and errors per platform minute, the error limit, pauses shaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

FORMATS = (".png", ".svg")


def check_plot_path(path: str) -> None:
    """Refuse an unsupported extension before a long run, not after it."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(f"--plot must end in .png or .svg, got {path!r}")


def write_plot(data: Mapping[str, Any], path: str) -> None:
    check_plot_path(path)
    import matplotlib

    matplotlib.use("Agg")   # no display needed; safe in CI and over ssh
    import matplotlib.pyplot as plt

    rows = data["timeline"]
    minutes = [row["minute"] for row in rows]
    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=100)
    try:
        ax.bar(minutes, [row["attempts"] for row in rows], width=0.9, align="edge",
               color="#9ecae1", label="attempts")
        ax.bar(minutes, [row["errors"] for row in rows], width=0.9, align="edge",
               color="#e6550d", label="errors")
        limit = data["rules"]["errorsToPause"]
        ax.axhline(limit, color="black", linestyle="--", linewidth=1,
                   label=f"{limit} errors (pause limit per {data['rules']['errorWindow'] / 60:g} min)")
        for period in data["pausedPeriods"]:
            stopped = period["kind"] == "STOPPED"
            ax.axvspan(period["from"] / 60, max(period["to"], period["from"] + 1) / 60,
                       color="#de2d26" if stopped else "#fdae6b", alpha=0.35 if stopped else 0.25,
                       label="stopped" if stopped else "paused")
        ax.set_xlabel("platform time (minutes since start)")
        ax.set_ylabel("per minute")
        ax.set_xlim(0, max(1, len(rows)))
        ax.set_title(data["verdict"], fontsize=11)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))   # one legend entry per kind of shading
        ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.01, 1),
                  fontsize=8)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
