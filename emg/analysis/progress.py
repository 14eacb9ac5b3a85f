"""Progress across sessions: per patient and muscle, how the key numbers move from session to session.

``collect_progress(folder) -> dict`` analyses every recording under ``folder`` (in parallel, see
:func:`emg.analysis.analyze_many`) and groups the sessions by patient and muscle, in date order, with:
``peak_pct`` (median peak of the contractions / reps in % of reference, where a calibration is known),
``peak`` (median activation peak in the recording's units), ``success_rate`` (drill reps succeeded /
attempted), ``time_to_relax_s`` (median over reps), ``fatigue_index_pct_per_s`` (median-frequency slope
in % per second over sustained contractions), and a trend per metric (least-squares slope per
session, first-to-last change, and whether that is an improvement).
``render_progress_html`` / ``progress_figure`` make the table and the plot.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from emg.analysis.analyze import AnalysisSettings, analyze_many

log = logging.getLogger(__name__)

#: metric key -> (label, unit, +1 if higher is better / -1 if lower is better)
METRICS: dict[str, tuple[str, str, int]] = {
    "peak_pct": ("Peak (% of reference)", "%", +1),
    "mean_pct": ("Mean level (% of reference)", "%", +1),
    "success_rate": ("Success rate", "", +1),
    "time_to_relax_s": ("Time to relax", "s", -1),
    "fatigue_index_pct_per_s": ("Fatigue index (MDF slope)", "%/s", +1),
    "peak": ("Peak amplitude", "", +1),
}


def collect_progress(
    folder: str | Path,
    settings: AnalysisSettings | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Analyse every recording under ``folder`` and return the per patient/muscle trends (JSON dict)."""
    from emg.errors import RecordingError
    from emg.recordings.readers import find_recordings

    root = Path(folder)
    paths = find_recordings(root)
    if not paths:
        raise RecordingError(f"no recordings found in {root} (expected .csv+.json, OpenBCI .txt, .edf, .bdf)")
    results = analyze_many(paths, settings, scheduler=scheduler, workers=workers, progress=progress)
    return progress_from_results(results, root)


def progress_from_results(results: list[dict[str, Any]], root: Path | None = None) -> dict[str, Any]:
    """Group analysis dicts into per patient/muscle session series with trends."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    errors = []
    for res in results:
        if res.get("error") and not res.get("channels"):
            errors.append({"path": res.get("path"), "error": res["error"]})
            continue
        patient = _patient(res, root)
        date, date_source = _session_date(res)
        reps = res.get("reps") or []
        for ch in res["channels"]:
            if ch["status"] not in ("ok", "railed-partly"):
                continue
            muscle = ch.get("muscle") or ch["name"]
            ch_reps = [r for r in reps if r.get("channel") in (None, ch["name"])]
            groups.setdefault((patient, muscle), []).append(_session_row(res, ch, ch_reps, date, date_source))
    out = []
    for (patient, muscle), sessions in sorted(groups.items()):
        sessions.sort(key=lambda r: (r["date"] or "", r["path"] or ""))
        for k, s in enumerate(sessions, 1):
            s["session"] = k
        out.append({"patient": patient, "muscle": muscle, "sessions": sessions, "trend": _trends(sessions)})
    return {"schema": "emg-progress/1", "folder": str(root) if root else None, "groups": out, "errors": errors}


def _patient(res: dict[str, Any], root: Path | None) -> str:
    p = res.get("patient")
    if isinstance(p, dict):
        p = p.get("id") or p.get("name") or p.get("code")
    if p:
        return str(p)
    path = Path(str(res.get("path") or ""))
    if root is not None:
        try:
            rel = path.resolve().relative_to(root.resolve())
            if len(rel.parts) > 1:
                return rel.parts[0]
        except ValueError:
            pass
    return "unknown"


def _session_date(res: dict[str, Any]) -> tuple[str | None, str]:
    st = res.get("start_time")
    if st:
        try:
            return datetime.fromisoformat(str(st).replace("Z", "+00:00")).isoformat(timespec="seconds"), "recording"
        except ValueError:
            pass
    path = res.get("path")
    if path and Path(path).exists():
        mtime = datetime.fromtimestamp(Path(path).stat().st_mtime, tz=UTC)
        return mtime.isoformat(timespec="seconds"), "file time"
    return None, "unknown"


def _median(vals: list[Any]) -> float | None:
    v = [float(x) for x in vals if x is not None and math.isfinite(float(x))]
    return float(np.median(v)) if v else None


def _session_row(
    res: dict[str, Any], ch: dict[str, Any], reps: list[dict[str, Any]], date: str | None, date_source: str
) -> dict[str, Any]:
    acts = ch["activations"]

    def rep_value(r: dict[str, Any], key: str) -> Any:
        """The drill's own live measurement where it recorded one, else the offline one."""
        live = (r.get("recorded") or {}).get(key)
        return live if live is not None else r.get(key)

    rep_peaks = [rep_value(r, "peak_pct") for r in reps]
    peak_pct = (
        _median(rep_peaks) if any(v is not None for v in rep_peaks) else _median([a.get("peak_pct") for a in acts])
    )
    relax = [rep_value(r, "time_to_relax_s") for r in reps]
    success = (sum(1 for r in reps if r.get("success")) / len(reps)) if reps else None
    fat = ch.get("fatigue") or {}
    return {
        "date": date,
        "date_source": date_source,
        "path": res.get("path"),
        "channel": ch["name"],
        "peak_pct": _round(peak_pct),
        "mean_pct": _round(_median([a.get("mean_pct") for a in acts])),
        "peak": _round(_median([a["peak"] for a in acts])),
        "success_rate": _round(success),
        "reps": len(reps) or None,
        "time_to_relax_s": _round(_median(relax)),
        "fatigue_index_pct_per_s": _round(fat.get("fatigue_index_pct_per_s")),
        "n_activations": ch["n_activations"],
        "noise_floor": ch.get("noise_floor"),
        "units": res.get("units"),
    }


def _trends(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for key, (_, _, better) in METRICS.items():
        pts = [(s["session"], s[key]) for s in sessions if s.get(key) is not None]
        if len(pts) < 2:
            out[key] = {
                "slope_per_session": None,
                "change": None,
                "direction": "not enough sessions" if pts else "not measured",
            }
            continue
        x, y = np.array(pts, dtype=float).T
        slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 0.0
        change = float(y[-1] - y[0])
        scale = max(abs(float(np.mean(y))), 1e-12)
        if abs(slope) < 0.02 * scale:
            direction = "steady"
        else:
            direction = "improving" if slope * better > 0 else "worsening"
        out[key] = {
            "slope_per_session": _round(slope),
            "change": _round(change),
            "direction": direction,
            "first": _round(float(y[0])),
            "last": _round(float(y[-1])),
        }
    return out


def _round(x: Any) -> Any:
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.6g}")


# --------------------------------------------------------------------------- table and plot


def format_table(prog: dict[str, Any]) -> str:
    """Plain-text table: one block per patient and muscle, one line per session."""
    lines = []
    for g in prog["groups"]:
        lines.append(f"patient {g['patient']} / {g['muscle']}")
        lines.append(
            f"  {'#':>2} {'date':<19} {'peak %ref':>9} {'peak':>9} {'success':>8} {'relax s':>8} {'fatigue %/s':>11}"
        )
        for s in g["sessions"]:
            lines.append(
                f"  {s['session']:>2} {(s['date'] or '?')[:19]:<19} {_f(s['peak_pct']):>9} {_f(s['peak']):>9} "
                f"{_f(s['success_rate'], pct=True):>8} {_f(s['time_to_relax_s']):>8} "
                f"{_f(s['fatigue_index_pct_per_s']):>11}"
            )
        trend = ", ".join(
            f"{METRICS[k][0].lower()} {v['direction']}"
            for k, v in g["trend"].items()
            if v.get("slope_per_session") is not None
        )
        if trend:
            lines.append(f"  trend: {trend}")
    for e in prog.get("errors", []):
        lines.append(f"skipped {e['path']}: {e['error']}")
    return "\n".join(lines)


def _f(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.0f}%" if pct else f"{v:.3g}"


def progress_figure(prog: dict[str, Any]) -> Any:
    """A matplotlib Figure: one row per patient/muscle, one column per metric, x = session date."""
    from matplotlib.figure import Figure

    keys = [
        k
        for k in ("peak_pct", "success_rate", "time_to_relax_s", "fatigue_index_pct_per_s")
        if any(s.get(k) is not None for g in prog["groups"] for s in g["sessions"])
    ] or ["peak"]
    groups = prog["groups"] or [{"patient": "-", "muscle": "-", "sessions": []}]
    fig = Figure(figsize=(3.3 * len(keys) + 0.5, 2.6 * len(groups) + 0.4))
    axes = np.atleast_2d(fig.subplots(len(groups), len(keys), squeeze=False))
    for r, g in enumerate(groups):
        for c, key in enumerate(keys):
            ax = axes[r, c]
            pts = [(s["date"], s[key]) for s in g["sessions"] if s.get(key) is not None]
            if pts:
                xs = [_as_dt(d) for d, _ in pts]
                ys = [v * (100 if key == "success_rate" else 1) for _, v in pts]
                ax.plot(xs, ys, "o-", color="#0072B2", lw=1.5, ms=5)
                ax.tick_params(axis="x", labelrotation=30, labelsize=7)
            else:
                ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes, color="#777")
            label, unit, _ = METRICS[key]
            unit = "%" if key == "success_rate" else unit
            ax.set_title(f"{g['patient']} / {g['muscle']}\n{label}" if c == 0 else label, fontsize=8)
            ax.set_ylabel(unit, fontsize=8)
    fig.tight_layout()
    return fig


def _as_dt(d: str | None) -> Any:
    try:
        return datetime.fromisoformat(d) if d else None
    except ValueError:
        return None


def figure_png(fig: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def render_progress_html(prog: dict[str, Any]) -> str:
    """Self-contained HTML: the plot (embedded PNG) and the per-session table with dates."""
    e = html.escape
    png = base64.b64encode(figure_png(progress_figure(prog))).decode("ascii")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>EMG progress</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:right}th{background:#eef3f8}td.l{text-align:left}img{max-width:100%}</style></head><body>",
        f"<h1>Progress across sessions</h1><p>{e(str(prog.get('folder') or ''))}</p>",
        f"<section id='plot'><img alt='progress plot' src='data:image/png;base64,{png}'></section>",
        "<section id='table'>",
    ]
    for g in prog["groups"]:
        parts.append(
            f"<h2>{e(g['patient'])} / {e(g['muscle'])}</h2><table><tr><th>#</th><th>Date</th>"
            "<th>Peak (% ref)</th><th>Peak</th><th>Success</th><th>Time to relax (s)</th>"
            "<th>Fatigue (%/s)</th><th>Activations</th><th>File</th></tr>"
        )
        for s in g["sessions"]:
            parts.append(
                f"<tr><td>{s['session']}</td><td class='l'>{e(str(s['date']))}</td><td>{_f(s['peak_pct'])}</td>"
                f"<td>{_f(s['peak'])}</td><td>{_f(s['success_rate'], pct=True)}</td>"
                f"<td>{_f(s['time_to_relax_s'])}</td><td>{_f(s['fatigue_index_pct_per_s'])}</td>"
                f"<td>{s['n_activations']}</td><td class='l'>{e(Path(str(s['path'])).name)}</td></tr>"
            )
        parts.append(
            "</table><p>Trend: "
            + e(
                ", ".join(
                    f"{METRICS[k][0]} {v['direction']} ({v['first']} → {v['last']})"
                    for k, v in g["trend"].items()
                    if v.get("slope_per_session") is not None
                )
                or "fewer than two sessions"
            )
            + "</p>"
        )
    for err in prog.get("errors", []):
        parts.append(f"<p>Skipped {e(str(err['path']))}: {e(err['error'])}</p>")
    parts.append("</section></body></html>")
    return "\n".join(parts)
