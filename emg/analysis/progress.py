"""Progress across sessions: per patient and muscle, how the key numbers move from session to session.

``collect_progress(folder) -> dict`` analyses every recording under ``folder`` (in parallel, see
:func:`emg.analysis.analyze_many`) and groups the sessions by patient and muscle, sessions numbered in date
order. Only the channels a session used appear (sidecar ``session.channels_used``, else the calibrated
channels, else those with a muscle name), the trained muscle (the drill's channel) first. Per session, as the
mean over its reps (assessment sessions: over the standard holds): ``peak_pct`` and ``mean_pct`` (% of
reference), ``success_rate``, ``time_to_relax_s``; ``fatigue_index_pct_per_s`` (median-frequency slope per
sustained contraction); ``peak`` (recording units) where no calibration is known; each with its rep-to-rep
SD and number of reps.

A change is called ``better`` or ``worse`` only when the first-to-last change exceeds the smallest
detectable change, ``SDC = 1.96 * sqrt(2) * SEM``, with ``SEM`` the rep-to-rep SD / sqrt(reps) of each
session, pooled (root mean square) over the sessions; else ``steady`` (see :data:`SDC_RULE`).
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
#: how a change is judged, in words (printed under the table and the plot)
SDC_RULE = (
    "Better or worse only when the change from the first to the last session exceeds the smallest detectable "
    "change SDC = 1.96 x sqrt(2) x SEM (SEM = rep-to-rep SD / sqrt(reps) in each session, pooled over the "
    "sessions; success: SD of a 0/1 result from the plus-two estimate (successes + 1) / (reps + 2)); otherwise steady."
)
#: goal lines: success rate (project's choice), time to relax (Nu-Tek / MyoTrac flag releases over 2 s)
SUCCESS_GOAL = 0.8
RELAX_GOAL_S = 2.0
#: the reps of an assessment session that progress compares (the standard holds)
ASSESSMENT_PHASE = "holds"


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
    """Group analysis dicts into per patient/muscle session series with trends (trained muscle first)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    rank: dict[tuple[str, str], int] = {}
    errors = []
    for res in results:
        if res.get("error") and not res.get("channels"):
            errors.append({"path": res.get("path"), "error": res["error"]})
            continue
        patient = _patient(res, root)
        date, date_source = _session_date(res)
        meta = _sidecar(res)
        trained = _trained_channel(res)
        reps = _comparable_reps(res.get("reps") or [])
        for ch in _used_channels(res, meta):
            if ch["status"] not in ("ok", "railed-partly"):
                continue
            muscle = ch.get("muscle") or ch["name"]
            is_trained = trained in (ch["name"], ch.get("muscle"))
            if trained is not None:
                ch_reps = reps if is_trained else []
            else:
                ch_reps = [r for r in reps if r.get("channel") in (None, ch["name"])]
            row = _session_row(res, ch, ch_reps, date, date_source)
            row["trained"] = is_trained
            groups.setdefault((patient, muscle), []).append(row)
            rank[(patient, muscle)] = min(rank.get((patient, muscle), 1), 0 if is_trained else 1)
    out = []
    for (patient, muscle), sessions in sorted(groups.items(), key=lambda kv: (kv[0][0], rank[kv[0]], kv[0][1])):
        sessions.sort(key=lambda r: (r["date"] or "", r["path"] or ""))
        for k, s in enumerate(sessions, 1):
            s["session"] = k
            s["label"] = session_label(k, s["date"])
        out.append(
            {
                "patient": patient,
                "muscle": muscle,
                "trained": rank[(patient, muscle)] == 0,
                "goal": _goal(sessions),
                "sessions": sessions,
                "trend": _trends(sessions),
            }
        )
    return {
        "schema": "emg-progress/2",
        "folder": str(root) if root else None,
        "rule": SDC_RULE,
        "groups": out,
        "errors": errors,
    }


def session_label(number: int, date: str | None) -> str:
    """``"Session 1 (2 Dec 2026)"`` (or without the date when it is unknown)."""
    d = _as_dt(date)
    return f"Session {number} ({d.day} {d.strftime('%b %Y')})" if d else f"Session {number}"


def _sidecar(res: dict[str, Any]) -> dict[str, Any]:
    """The recording's sidecar (project format), else {} (other formats carry no session record)."""
    from emg.errors import RecordingError
    from emg.recordings.recording import read_sidecar

    path = res.get("path")
    if not path or Path(str(path)).suffix.lower() != ".csv":
        return {}
    try:
        return read_sidecar(path)
    except (RecordingError, OSError):
        return {}


def _trained_channel(res: dict[str, Any]) -> str | None:
    """The drill's (first) channel name, from the recorded drill summary; None without a drill."""
    summary = (res.get("drill") or {}).get("summary") or {}
    chans = summary.get("channels") if isinstance(summary, dict) else None
    return str(chans[0]) if isinstance(chans, list) and chans else None


def _used_channels(res: dict[str, Any], meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The analysis channels the session used: sidecar ``session.channels_used``, else the calibrated
    channels, else those with a muscle name, else all."""
    chans = res["channels"]
    session = meta.get("session") if isinstance(meta.get("session"), dict) else {}
    used = session.get("channels_used")
    if isinstance(used, list) and used:
        names = {str(u) for u in used}
        picked = [ch for ch in chans if ch["name"] in names or (ch.get("muscle") or "") in names]
        if picked:
            return picked
    for test in (lambda ch: ch.get("calibration") is not None, lambda ch: bool(ch.get("muscle"))):
        picked = [ch for ch in chans if test(ch)]
        if picked:
            return picked
    return list(chans)


def _comparable_reps(reps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An assessment's standard holds (the reps every assessment has alike); other drills: every rep."""
    holds = [r for r in reps if _rep_value(r, "phase") == ASSESSMENT_PHASE]
    return holds if holds else [r for r in reps if _rep_value(r, "phase") is None]


def _rep_value(r: dict[str, Any], key: str) -> Any:
    """The drill's own live measurement where it recorded one, else the offline one."""
    live = (r.get("recorded") or {}).get(key)
    return live if live is not None else r.get(key)


def _goal(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Goal lines: the target band's low edge (the last session's band), the success rate, the release time."""
    band = next((s["band_pct"] for s in reversed(sessions) if s.get("band_pct")), None)
    return {
        "band_pct": band,
        "level_pct": band[0] if band else None,
        "success_rate": SUCCESS_GOAL,
        "time_to_relax_s": RELAX_GOAL_S,
    }


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


def _spread(vals: list[Any]) -> tuple[float | None, float | None, int]:
    """(mean, SD with ddof 1 or None, n) of the finite values."""
    v = [float(x) for x in vals if x is not None and math.isfinite(float(x))]
    if not v:
        return None, None, 0
    return float(np.mean(v)), (float(np.std(v, ddof=1)) if len(v) > 1 else None), len(v)


def _session_row(
    res: dict[str, Any], ch: dict[str, Any], reps: list[dict[str, Any]], date: str | None, date_source: str
) -> dict[str, Any]:
    acts = ch["activations"]
    spread: dict[str, dict[str, Any]] = {}
    row: dict[str, Any] = {}

    def put(key: str, vals: list[Any]) -> None:
        mean, sd, n = _spread(vals)
        row[key] = _round(mean)
        spread[key] = {"sd": _round(sd), "n": n}

    for key in ("peak_pct", "mean_pct"):  # the reps' own levels, else the detected contractions'
        from_reps = [_rep_value(r, key) for r in reps]
        put(key, from_reps if any(v is not None for v in from_reps) else [a.get(key) for a in acts])
    put("peak", [a["peak"] for a in acts])
    judged = [r for r in reps if r.get("result") != "void"]
    if judged:
        k, n = sum(1 for r in judged if r.get("success")), len(judged)
        row["success_rate"] = _round(k / n)
        # rep-to-rep SD of a success (0/1) from the plus-two estimate (k + 1) / (n + 2), so that 0 of n or
        # n of n still carries the uncertainty of n reps (Agresti-Coull)
        p_tilde = (k + 1) / (n + 2)
        spread["success_rate"] = {"sd": _round(math.sqrt(p_tilde * (1 - p_tilde))), "n": n}
    else:
        row["success_rate"], spread["success_rate"] = None, {"sd": None, "n": 0}
    put("time_to_relax_s", [_rep_value(r, "time_to_relax_s") for r in reps])
    fat = ch.get("fatigue") or {}
    put("fatigue_index_pct_per_s", [c.get("slope_pct_per_s") for c in fat.get("contractions") or []])
    band = next((_rep_value(r, "band_pct") for r in reps if _rep_value(r, "band_pct")), None)
    return {
        "date": date,
        "date_source": date_source,
        "path": res.get("path"),
        "channel": ch["name"],
        **row,
        "spread": spread,
        "reps": len(reps) or None,
        "band_pct": list(band) if band else None,
        "n_activations": ch["n_activations"],
        "noise_floor": ch.get("noise_floor"),
        "units": res.get("units"),
    }


def _trends(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric: first, last, change, least-squares slope per session, SEM, SDC and the direction."""
    out = {}
    for key, (_, _, better) in METRICS.items():
        pts = [s for s in sessions if s.get(key) is not None]
        if len(pts) < 2:
            out[key] = {
                "slope_per_session": None,
                "change": None,
                "direction": "not enough sessions" if pts else "not measured",
            }
            continue
        x = np.array([s["session"] for s in pts], dtype=float)
        y = np.array([s[key] for s in pts], dtype=float)
        slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 0.0
        change = float(y[-1] - y[0])
        sems = []
        for s in pts:
            sp = (s.get("spread") or {}).get(key) or {}
            if sp.get("sd") is not None and sp.get("n", 0) >= 2:
                sems.append(sp["sd"] / math.sqrt(sp["n"]))
        if len(sems) < 2:
            sem = sdc = None
            direction = "not judged (no rep-to-rep spread)"
        else:
            sem = math.sqrt(float(np.mean(np.square(sems))))
            sdc = 1.96 * math.sqrt(2.0) * sem
            if abs(change) <= sdc:
                direction = "steady"
            else:
                direction = "better" if change * better > 0 else "worse"
        out[key] = {
            "slope_per_session": _round(slope),
            "change": _round(change),
            "sem": _round(sem),
            "sdc": _round(sdc),
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


#: the metrics plotted, in this order (``peak`` only when nothing is in % of reference)
PLOT_KEYS = ("peak_pct", "success_rate", "time_to_relax_s", "fatigue_index_pct_per_s")


def _trend_words(key: str, v: dict[str, Any]) -> str:
    """``"peak (% of reference) better: +8.1 % (SDC 3.7 %)"``."""
    label, unit, _ = METRICS[key]
    scale, unit = (100.0, "%") if key == "success_rate" else (1.0, unit)
    words = f"{label.lower()} {v['direction']}"
    if v.get("change") is not None:
        words += f": {scale * v['change']:+.3g} {unit}".rstrip()
        if v.get("sdc") is not None:
            words += f" (SDC {scale * v['sdc']:.3g} {unit})".replace(" )", ")")
    return words


def format_table(prog: dict[str, Any]) -> str:
    """Plain-text table: one block per patient and muscle (trained muscle first), one line per session."""
    lines = []
    for g in prog["groups"]:
        lines.append(f"patient {g['patient']} / {g['muscle']}" + (" (trained muscle)" if g.get("trained") else ""))
        lines.append(
            f"  {'session':<26} {'peak %ref':>9} {'mean %ref':>9} {'success':>8} {'relax s':>8} "
            f"{'fatigue %/s':>11} {'reps':>5}"
        )
        for s in g["sessions"]:
            lines.append(
                f"  {s.get('label') or s['session']:<26} {_f(s['peak_pct']):>9} {_f(s['mean_pct']):>9} "
                f"{_f(s['success_rate'], pct=True):>8} {_f(s['time_to_relax_s']):>8} "
                f"{_f(s['fatigue_index_pct_per_s']):>11} {s['reps'] or '-':>5}"
            )
        trend = "; ".join(_trend_words(k, v) for k, v in g["trend"].items() if v.get("slope_per_session") is not None)
        if trend:
            lines.append(f"  trend: {trend}")
    if any(g["trend"][k].get("sdc") is not None for g in prog["groups"] for k in g["trend"]):
        lines.append(prog.get("rule") or SDC_RULE)
    for e in prog.get("errors", []):
        lines.append(f"skipped {e['path']}: {e['error']}")
    return "\n".join(lines)


def _f(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.0f}%" if pct else f"{v:.3g}"


def _y_limits(key: str, values: list[float], goal: float | None) -> tuple[float, float]:
    """Fixed, honest axes: rates 0-100 %, levels and times from 0 to above the largest value or goal."""
    if key == "success_rate":
        return 0.0, 105.0
    top = max([abs(v) for v in values] + ([goal] if goal is not None else []) + [1e-9])
    if key == "fatigue_index_pct_per_s":
        return -1.15 * top, 1.15 * top
    return 0.0, 1.15 * top


def progress_figure(prog: dict[str, Any]) -> Any:
    """A matplotlib Figure: one row per patient/muscle (trained first), one column per metric; x = session
    number with its date; error bars = rep-to-rep SD; dashed lines = goals; titles carry the trend."""
    from matplotlib.figure import Figure

    keys = [k for k in PLOT_KEYS if any(s.get(k) is not None for g in prog["groups"] for s in g["sessions"])]
    keys = keys or ["peak"]
    groups = prog["groups"] or [{"patient": "-", "muscle": "-", "sessions": [], "trend": {}, "goal": {}}]
    fig = Figure(figsize=(3.4 * len(keys) + 0.5, 2.9 * len(groups) + 0.6))
    axes = np.atleast_2d(fig.subplots(len(groups), len(keys), squeeze=False))
    for r, g in enumerate(groups):
        goal = g.get("goal") or {}
        n_sessions = len(g["sessions"])
        for c, key in enumerate(keys):
            ax = axes[r, c]
            label, unit, _ = METRICS[key]
            scale = 100.0 if key == "success_rate" else 1.0
            pts = [s for s in g["sessions"] if s.get(key) is not None]
            ys = [scale * s[key] for s in pts]
            errs = [scale * ((s.get("spread") or {}).get(key, {}).get("sd") or 0.0) for s in pts]
            goal_v = {"peak_pct": goal.get("level_pct"), "mean_pct": goal.get("level_pct")}.get(key)
            if key == "success_rate" and goal.get("success_rate") is not None:
                goal_v = 100.0 * goal["success_rate"]
            if key == "time_to_relax_s":
                goal_v = goal.get("time_to_relax_s")
            if pts:
                ax.errorbar(
                    [s["session"] for s in pts], ys, yerr=errs, fmt="o-", color="#0072B2", lw=1.5, ms=5, capsize=3
                )
            else:  # nothing to draw: no empty axes, a word on why
                ax.set_axis_off()
                why = "no drill reps on this muscle" if not g.get("trained") else "not measured"
                ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes, color="#777", fontsize=8)
                continue
            if goal_v is not None and pts:
                ax.axhline(goal_v, color="#009E73", ls="--", lw=1.2)
                where = "goal: at most" if key == "time_to_relax_s" else "goal"
                ax.annotate(
                    f"{where} {goal_v:g} {'%' if key != 'time_to_relax_s' else 's'}",
                    (0.02, goal_v),
                    xycoords=("axes fraction", "data"),
                    fontsize=7,
                    color="#009E73",
                    va="bottom",
                )
            ax.set_ylim(*_y_limits(key, [y + e for y, e in zip(ys, errs, strict=True)], goal_v))
            ax.set_xlim(0.5, max(n_sessions, 1) + 0.5)
            ax.set_xticks(range(1, n_sessions + 1))
            ax.set_xticklabels(
                [(s.get("label") or f"Session {s['session']}").replace(" (", "\n(") for s in g["sessions"]],
                fontsize=7,
            )
            direction = (g.get("trend") or {}).get(key, {}).get("direction", "")
            head = f"{g['patient']} / {g['muscle']}" + (" (trained)" if g.get("trained") else "")
            title = f"{label}: {direction}" if direction else label
            ax.set_title(f"{head}\n{title}" if c == 0 else title, fontsize=8)
            ax.set_ylabel("%" if key == "success_rate" else unit, fontsize=8)
            ax.tick_params(axis="y", labelsize=7)
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
    """Self-contained HTML: the plot (embedded PNG), the per-session table and the judged trends."""
    e = html.escape
    png = base64.b64encode(figure_png(progress_figure(prog))).decode("ascii")
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>EMG progress</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:right}th{background:#eef3f8}td.l{text-align:left}img{max-width:100%}"
        "p.rule{color:#555;font-size:.9em}</style></head><body>",
        f"<h1>Progress across sessions</h1><p>{e(str(prog.get('folder') or ''))}</p>",
        f"<section id='plot'><img alt='progress plot' src='data:image/png;base64,{png}'>"
        f"<p class='rule'>{e(prog.get('rule') or SDC_RULE)} Error bars: rep-to-rep SD. Dashed: goals "
        f"(the target band's low edge; success {100 * SUCCESS_GOAL:.0f} %; relaxing within {RELAX_GOAL_S:g} s).</p>"
        "</section>",
        "<section id='table'>",
    ]
    for g in prog["groups"]:
        trained = " (trained muscle)" if g.get("trained") else ""
        parts.append(
            f"<h2>{e(g['patient'])} / {e(g['muscle'])}{trained}</h2><table><tr><th>Session</th>"
            "<th>Peak (% ref)</th><th>Mean (% ref)</th><th>Success</th><th>Time to relax (s)</th>"
            "<th>Fatigue (%/s)</th><th>Reps</th><th>File</th></tr>"
        )
        for s in g["sessions"]:
            parts.append(
                f"<tr><td class='l'>{e(s.get('label') or str(s['session']))}</td><td>{_f(s['peak_pct'])}</td>"
                f"<td>{_f(s['mean_pct'])}</td><td>{_f(s['success_rate'], pct=True)}</td>"
                f"<td>{_f(s['time_to_relax_s'])}</td><td>{_f(s['fatigue_index_pct_per_s'])}</td>"
                f"<td>{s['reps'] or '-'}</td><td class='l'>{e(Path(str(s['path'])).name)}</td></tr>"
            )
        words = [_trend_words(k, v) for k, v in g["trend"].items() if v.get("slope_per_session") is not None]
        parts.append("</table><p>Trend: " + e("; ".join(words) or "fewer than two sessions") + "</p>")
    for err in prog.get("errors", []):
        parts.append(f"<p>Skipped {e(str(err['path']))}: {e(err['error'])}</p>")
    parts.append("</section></body></html>")
    return "\n".join(parts)
