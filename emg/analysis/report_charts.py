"""Trial charts: each analysed muscle's envelope (% of reference where calibrated) over the session, with the
target band, work (green) and rest (grey) phases shaded, the calibration hatched apart and rep numbers with
their result (✓ success, ✗ failure). Matplotlib figures (no pyplot); the HTML embeds them as PNG, the PDF draws
them as vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from emg.analysis.analyze import Analysis
from emg.analysis.report_summary import labels_by_name

ENV_COLOUR = "#0072B2"
BAND_COLOUR = "#009E73"
WORK_COLOUR = "#D9F0E3"
REST_COLOUR = "#EEEEEE"
FAIL_COLOUR = "#D55E00"
MAX_POINTS = 4000


def trial_figure(res: Analysis, width_in: float = 10.5, panel_in: float = 2.6) -> Any:
    """One panel per analysed channel (trained first); None when the analysis kept no signals."""
    from matplotlib.figure import Figure

    s = res.summary
    if res.envelope_uv is None:
        return None
    clin = s.get("clinical") or {}
    lab = labels_by_name(s)
    names = [ch["name"] for ch in s["channels"]]
    trained = [n for n in clin.get("trained_channels") or [] if n in names]
    order = trained + [n for n in names if n not in trained]
    fs = float(s["sampling_rate"])
    fig = Figure(figsize=(width_in, panel_in * len(order) + 0.4))
    axes = fig.subplots(len(order), 1, sharex=True, squeeze=False)[:, 0]
    periods = clin.get("periods") or {}
    phases = periods.get("phases") or []
    reps = {(r.get("set"), r.get("rep")): r for r in s.get("reps") or []}
    limits: list[tuple[Any, float, float, bool]] = []  # (axes, bottom, top, in % of reference)
    for ax, name in zip(axes, order, strict=True):
        c = names.index(name)
        use_pct = res.pct is not None and s["channels"][c].get("calibration") is not None
        y = res.pct[c] if use_pct else res.envelope_uv[c]
        step = max(1, y.size // MAX_POINTS)
        t = np.arange(0, y.size, step) / fs
        ax.plot(t, y[::step], color=ENV_COLOUR, lw=1.0, zorder=3)
        ax.set_ylabel("% of reference" if use_pct else f"envelope ({s.get('units', 'uV')})", fontsize=8)
        ax.set_title(lab[name] + (" (trained)" if name in trained else ""), fontsize=9, loc="left")
        for p in phases:
            ax.axvspan(p["start_s"], p["end_s"], color=WORK_COLOUR if p["kind"] == "work" else REST_COLOUR, lw=0)
        cal = periods.get("calibration_s")
        drill = periods.get("drill_s")
        keep = np.ones(y.size, dtype=bool)
        if cal:  # the calibration's last contraction can outlast its cue: hatch up to the drill's start
            cal = (cal[0], max(cal[1], drill[0]) if drill else cal[1])
            keep[int(cal[0] * fs) : int(cal[1] * fs)] = False
            ax.axvspan(cal[0], cal[1], facecolor="none", hatch="//", edgecolor="#BBBBBB", lw=0)
            ax.text(
                cal[0] + 0.2,
                0.97,
                "calibration (not in the figures)",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                va="top",
                color="#666666",
            )
        yk = y[keep] if keep.any() else y
        top = float(np.nanmax(yk)) if np.isfinite(yk).any() else 1.0  # the drill's scale; calibration may clip
        if name in trained:
            for p in phases:
                r = reps.get((p.get("set"), p.get("rep")))
                if p["kind"] != "work" or r is None:
                    continue
                band = r.get("band_pct")
                if use_pct and band:
                    ax.fill_between(
                        [p["start_s"], p["end_s"]], band[0], band[1], color=BAND_COLOUR, alpha=0.25, lw=0, zorder=2
                    )
                    top = max(top, float(band[1]))
                ok = r.get("success")
                mark = "✓" if ok else "✗"
                ax.text(
                    0.5 * (p["start_s"] + p["end_s"]),
                    1.0,
                    f"{r['rep']} {mark}",
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="#006d2c" if ok else FAIL_COLOUR,
                    fontweight="bold",
                )
        bottom = min(0.0, float(np.nanmin(yk))) if np.isfinite(yk).any() else 0.0
        limits.append((ax, bottom, top, use_pct))
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", color="#dddddd", lw=0.5)
    # one scale for every panel in % of reference (at least 0-20 %): a quiet muscle's noise must not look like effort
    shared_top = max([20.0] + [top for _, _, top, pct in limits if pct])
    for ax, bottom, top, use_pct in limits:
        ax.set_ylim(bottom, (shared_top if use_pct else top) * 1.15 + 1e-9)
    axes[-1].set_xlabel("time (s)", fontsize=8)
    fig.tight_layout()
    return fig
