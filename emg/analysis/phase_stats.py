"""The clinical figures of a session: what the drill's work and rest phases say, calibration kept apart.

``clinical_summary(...)`` builds the analysis JSON's ``clinical`` object (docs/ANALYSIS_JSON.md) from the
phases of :func:`emg.analysis.phases.session_phases`, the analysis envelopes and the drill's recorded reps:
per muscle peak and mean over the drill (never the calibration), rest baseline before and after, time in the
target band, the per-rep work/rest table (averages leave out each phase's first second; onset = time to 75 %
of the previous rep's work average, release = time to 37.5 % of it), median-frequency fatigue over long holds
only, and the assessment protocol's blocks. Live figures (recorded by the drill) and offline estimates (this
analysis' envelope) are kept in separately named keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dsp.features import fatigue_slope, spectral_frequencies
from dsp.phases import SKIP_S, phase_stats, time_in_band, time_to_level
from emg.analysis.phases import Phase, SessionPhases

#: Onset: time to reach this fraction of the reference work average; release: to fall to this fraction.
ONSET_FRACTION = 0.75
RELEASE_FRACTION = 0.375
#: Clinical systems flag an onset or release slower than this.
SLOW_S = 2.0
#: A median-frequency fatigue figure is reported only for holds at least this long.
FATIGUE_MIN_HOLD_S = 10.0
SPECTRAL_WINDOW_S = 0.5
SPECTRAL_STEP_S = 0.25


def _r(x: Any, nd: int = 2) -> Any:
    """Rounded for display-ready JSON (``nd`` decimals); None for missing or non-finite."""
    return round(float(x), nd) if x is not None and np.isfinite(x) else None


def _series(env_uv: np.ndarray, pct: np.ndarray | None, c: int, cal_ok: bool) -> np.ndarray:
    return pct[c] if (pct is not None and cal_ok) else env_uv[c]


def clinical_summary(
    sp: SessionPhases,
    fs: float,
    names: list[str],
    muscles: list[str],
    env_uv: np.ndarray,
    pct: np.ndarray | None,
    cal_rows: set[int],
    filtered_uv: np.ndarray,
    reps: list[dict[str, Any]],
    failure_reasons: dict[tuple[Any, Any], str],
    trained: list[int],
    usable: Sequence[bool],
    mode: str,
) -> dict[str, Any]:
    """The ``clinical`` object; ``cal_rows`` are the rows with a calibration (% of reference)."""
    n = env_uv.shape[1]
    dur = n / fs
    basis_pct = bool(trained) and all(c in cal_rows for c in trained) if trained else bool(cal_rows)
    out: dict[str, Any] = {
        "estimate": f"offline ({mode})",
        "periods": sp.to_dict(),
        "trained_channels": [names[c] for c in trained],
        "muscles": _muscles(sp, fs, names, muscles, env_uv, pct, cal_rows, trained, usable, dur),
        "baseline": _baselines(sp, fs, names, env_uv, pct, cal_rows, usable),
        "time_in_band": _time_in_band(sp, fs, reps, pct, names),
        "reps": _rep_table(sp, fs, names, env_uv, pct, cal_rows, reps, failure_reasons),
        "fatigue": _fatigue(sp, fs, names, filtered_uv, trained, usable),
        "assessment": None,
        "basis": "% of reference" if basis_pct else "uV",
    }
    if sp.drill_kind == "assessment" or sp.blocks:
        out["assessment"] = _assessment(sp, fs, names, env_uv, pct, cal_rows, out, filtered_uv, trained, usable)
    return out


# --------------------------------------------------------------------------- per muscle


def _outside_calibration(sp: SessionPhases, n: int, fs: float) -> np.ndarray:
    m = np.ones(n, dtype=bool)
    if sp.calibration_s:
        m[int(sp.calibration_s[0] * fs) : int(np.ceil(sp.calibration_s[1] * fs))] = False
    return m


def _muscles(sp, fs, names, muscles, env_uv, pct, cal_rows, trained, usable, dur) -> list[dict[str, Any]]:
    n = env_uv.shape[1]
    work = sp.work()
    if sp.drill_s:
        span = np.zeros(n, dtype=bool)
        span[int(sp.drill_s[0] * fs) : int(np.ceil(sp.drill_s[1] * fs))] = True
        over = "drill"
    else:
        span = np.ones(n, dtype=bool)
        over = "recording"
    span &= _outside_calibration(sp, n, fs)
    if work:
        from dsp.phases import phase_mask

        mean_mask = phase_mask(n, fs, [p.start_s for p in work], [p.end_s for p in work]) & span
        mean_over = "work phases"
    else:
        mean_mask = span
        mean_over = over
    out = []
    for c, nm in enumerate(names):
        row: dict[str, Any] = {
            "channel": nm,
            "muscle": muscles[c] or None,
            "trained": c in trained,
            "peak_pct": None,
            "mean_pct": None,
            "peak_uv": None,
            "mean_uv": None,
            "over": over,
            "mean_over": mean_over,
        }
        if usable[c] and span.any():
            row["peak_uv"] = _r(float(np.max(env_uv[c][span])))
            row["mean_uv"] = _r(float(np.mean(env_uv[c][mean_mask]))) if mean_mask.any() else None
            if pct is not None and c in cal_rows:
                row["peak_pct"] = _r(float(np.max(pct[c][span])), 1)
                row["mean_pct"] = _r(float(np.mean(pct[c][mean_mask])), 1) if mean_mask.any() else None
        out.append(row)
    return out


# --------------------------------------------------------------------------- baselines


def _rest_windows(sp: SessionPhases) -> tuple[list[Phase], list[Phase], str]:
    """Rest spans before the first and after the last work phase (assessment: its baseline blocks)."""
    pre = [b for b in sp.blocks if b.name == "pre_baseline"]
    post = [b for b in sp.blocks if b.name == "post_baseline"]
    if pre or post:
        as_phase = lambda b: Phase("rest", b.start_s, b.end_s, block=b.name)  # noqa: E731
        return [as_phase(b) for b in pre], [as_phase(b) for b in post], "assessment baseline blocks"
    work = sp.work()
    if not work:
        return [], [], "no drill phases"
    first, last = work[0].start_s, work[-1].end_s
    before = [p for p in sp.rest() if p.end_s <= first]
    after = [p for p in sp.rest() if p.start_s >= last]
    return before, after, "rest before the first and after the last work phase"


def _baselines(sp, fs, names, env_uv, pct, cal_rows, usable) -> dict[str, Any]:
    before, after, source = _rest_windows(sp)
    out: dict[str, Any] = {"source": source, "skip_s": SKIP_S}
    for key, spans in (("before", before), ("after", after)):
        rows = []
        for c, nm in enumerate(names):
            if not usable[c]:
                continue
            row: dict[str, Any] = {"channel": nm, "duration_s": None, "mean_uv": None, "sd_uv": None}
            row.update({"mean_pct": None, "sd_pct": None})
            if spans:
                st_uv = phase_stats(
                    env_uv[c],
                    fs,
                    [spans[-1 if key == "before" else 0].start_s],
                    [spans[-1 if key == "before" else 0].end_s],
                )
                p = spans[-1 if key == "before" else 0]
                row["start_s"], row["end_s"] = _r(p.start_s, 3), _r(p.end_s, 3)
                row["duration_s"] = _r(max(0.0, p.end_s - p.start_s - SKIP_S), 2)
                row["mean_uv"], row["sd_uv"] = _r(st_uv.mean[0]), _r(st_uv.sd[0])
                if pct is not None and c in cal_rows:
                    st = phase_stats(pct[c], fs, [p.start_s], [p.end_s])
                    row["mean_pct"], row["sd_pct"] = _r(st.mean[0], 1), _r(st.sd[0], 1)
            rows.append(row)
        measured = any(r["mean_uv"] is not None for r in rows)
        out[key] = rows if measured else []
        if not measured:
            out[f"{key}_reason"] = (
                "not recorded: no rest of more than 1 s "
                + ("before the first rep" if key == "before" else "after the last rep")
                if sp.work()
                else "no drill phases in this recording"
            )
    return out


# --------------------------------------------------------------------------- time in band


def _time_in_band(sp, fs, reps, pct, names) -> dict[str, Any]:
    """Share of the work time spent in the target band: live (the drill's recorded time in band) where
    every rep recorded one, else the offline estimate from the % of reference envelope."""
    work = {(p.set, p.rep): p for p in sp.work() if p.rep is not None}
    live_s, work_s, off_s, off_work_s = 0.0, 0.0, 0.0, 0.0
    live_ok = bool(reps)
    for r in reps:
        p = work.get((r.get("set"), r.get("rep")))
        if p is None:
            live_ok = False
            continue
        rec = r.get("recorded") or {}
        if rec.get("time_in_band_s") is None:
            live_ok = False
        else:
            live_s += float(rec["time_in_band_s"])
        work_s += p.duration_s
        band = r.get("band_pct")
        ch = r.get("channel")
        if pct is not None and band and len(band) == 2 and ch in names:
            off_s += float(time_in_band(pct[names.index(ch)], fs, [p.start_s], [p.end_s], band[0], band[1])[0])
            off_work_s += p.duration_s
    if live_ok and work_s > 0:
        return {"in_band_s": _r(live_s), "work_s": _r(work_s), "pct": _r(100 * live_s / work_s, 1), "source": "live"}
    if off_work_s > 0:
        return {
            "in_band_s": _r(off_s),
            "work_s": _r(off_work_s),
            "pct": _r(100 * off_s / off_work_s, 1),
            "source": "offline estimate",
        }
    return {"in_band_s": None, "work_s": None, "pct": None, "source": None}


# --------------------------------------------------------------------------- per rep


def _rep_table(sp, fs, names, env_uv, pct, cal_rows, reps, failure_reasons) -> list[dict[str, Any]]:
    work = {(p.set, p.rep): p for p in sp.work() if p.rep is not None}
    rest = {(p.set, p.rep): p for p in sp.rest() if p.rep is not None}
    out = []
    prev_avg: dict[str, float] = {}
    for r in reps:
        key = (r.get("set"), r.get("rep"))
        ch = r.get("channel")
        rec = r.get("recorded") or {}
        row: dict[str, Any] = {
            "set": key[0],
            "rep": key[1],
            "channel": ch,
            "block": None,
            "result": r.get("result"),
            "failure_reason": failure_reasons.get(key) if r.get("result") != "success" else None,
            "live": {
                k: rec.get(k)
                for k in ("peak_pct", "steadiness_cv_pct", "time_in_band_s", "reaction_time_s", "time_to_relax_s")
            },
        }
        w, rs = work.get(key), rest.get(key)
        off: dict[str, Any] = {
            "unit": None,
            "work_s": None,
            "work_avg": None,
            "work_sd": None,
            "rest_avg": None,
            "rest_sd": None,
            "peak": None,
            "steadiness_cv_pct": None,
            "onset_s": None,
            "onset_reference": None,
            "onset_slow": None,
            "release_s": None,
            "release_slow": None,
        }
        if w is not None and ch in names:
            c = names.index(ch)
            row["block"] = w.block
            x = _series(env_uv, pct, c, c in cal_rows)
            off["unit"] = "% of reference" if (pct is not None and c in cal_rows) else "uV"
            off["work_s"] = _r(w.duration_s)
            st = phase_stats(x, fs, [w.start_s], [w.end_s])
            avg = float(st.mean[0])
            off["work_avg"], off["work_sd"] = _r(avg, 1), _r(st.sd[0], 1)
            off["peak"] = _r(
                float(np.nanmax(x[int(w.start_s * fs) : max(int(w.start_s * fs) + 1, int(w.end_s * fs))])), 1
            )
            off["steadiness_cv_pct"] = _r(st.cv_pct[0], 1)
            ref = prev_avg.get(ch)
            off["onset_reference"] = (
                "previous rep's work average" if ref is not None else "own work average (first rep)"
            )
            ref = avg if ref is None else ref
            if np.isfinite(ref):
                on = time_to_level(x, fs, [w.start_s], [w.end_s], [ONSET_FRACTION * ref], rising=True)[0]
                off["onset_s"] = _r(on)
                off["onset_slow"] = bool(np.isfinite(on) and on > SLOW_S) if np.isfinite(on) else None
                if rs is not None:
                    rel = time_to_level(x, fs, [rs.start_s], [rs.end_s], [RELEASE_FRACTION * ref], rising=False)[0]
                    off["release_s"] = _r(rel)
                    off["release_slow"] = bool(rel > SLOW_S) if np.isfinite(rel) else None
            if rs is not None:
                st_r = phase_stats(x, fs, [rs.start_s], [rs.end_s])
                off["rest_avg"], off["rest_sd"] = _r(st_r.mean[0], 1), _r(st_r.sd[0], 1)
            if np.isfinite(avg):
                prev_avg[ch] = avg
        row["offline"] = off
        out.append(row)
    return out


# --------------------------------------------------------------------------- fatigue


def _hold_fatigue(x_uv: np.ndarray, fs: float, p: Phase) -> dict[str, Any] | None:
    s0, s1 = int((p.start_s + SKIP_S) * fs), int(p.end_s * fs)
    if s1 - s0 < int(4 * SPECTRAL_WINDOW_S * fs):
        return None
    track = spectral_frequencies(x_uv[None, s0:s1], fs, window_s=SPECTRAL_WINDOW_S, step_s=SPECTRAL_STEP_S)
    t = np.asarray(track.times_s)
    mdf = np.atleast_2d(track.median_hz)[0]
    fit = fatigue_slope(t, mdf)
    slope, icpt = float(fit.slope_hz_per_s[0]), float(fit.intercept_hz[0])
    if not (np.isfinite(slope) and np.isfinite(icpt) and icpt > 0):
        return None
    end = icpt + slope * (t[-1] - t[0])
    return {
        "start_s": _r(p.start_s, 3),
        "duration_s": _r(p.duration_s),
        "block": p.block,
        "median_frequency_start_hz": _r(icpt, 1),
        "median_frequency_end_hz": _r(end, 1),
        "median_frequency_change_pct": _r(100.0 * (end - icpt) / icpt, 1),
        "slope_hz_per_s": _r(slope, 4),
    }


def _fatigue(sp, fs, names, filtered_uv, trained, usable) -> list[dict[str, Any]]:
    long_holds = [p for p in sp.work() if p.duration_s >= FATIGUE_MIN_HOLD_S]
    out = []
    for c in trained:
        if not usable[c]:
            continue
        holds = [h for p in long_holds if (h := _hold_fatigue(filtered_uv[c], fs, p)) is not None]
        out.append(
            {
                "channel": names[c],
                "holds": holds,
                "measured": bool(holds),
                "reason": ""
                if holds
                else f"no hold of {FATIGUE_MIN_HOLD_S:g} s or longer: median-frequency fatigue is not "
                "meaningful on short contractions",
            }
        )
    return out


# --------------------------------------------------------------------------- assessment


def _assessment(sp, fs, names, env_uv, pct, cal_rows, clin, filtered_uv, trained, usable) -> dict[str, Any]:
    """Per protocol block: baselines (mean, SD), quick contractions, holds, endurance, post vs pre."""
    blocks: dict[str, Any] = {}
    chans = [c for c in (trained or range(len(names))) if usable[c]]
    for b in sp.blocks:
        item: dict[str, Any] = {"start_s": _r(b.start_s, 3), "end_s": _r(b.end_s, 3), "planned_s": b.planned_s}
        if b.name in ("pre_baseline", "post_baseline"):
            rows = []
            for c in [c for c in range(len(names)) if usable[c]]:
                st = phase_stats(env_uv[c], fs, [b.start_s], [b.end_s])
                row = {
                    "channel": names[c],
                    "mean_uv": _r(st.mean[0]),
                    "sd_uv": _r(st.sd[0]),
                    "cv_pct": _r(st.cv_pct[0], 1),
                }
                if pct is not None and c in cal_rows:
                    sp_ = phase_stats(pct[c], fs, [b.start_s], [b.end_s])
                    row.update({"mean_pct": _r(sp_.mean[0], 1), "sd_pct": _r(sp_.sd[0], 1)})
                rows.append(row)
            item["channels"] = rows
        elif b.name in ("quick", "holds"):
            reps = [r for r in clin["reps"] if r.get("block") == b.name]
            item["reps"] = len(reps)
            item["succeeded"] = sum(1 for r in reps if r.get("result") == "success")
            offs = [r["offline"] for r in reps]
            for k in ("peak", "work_avg", "rest_avg", "onset_s", "release_s"):
                vals = [o[k] for o in offs if o.get(k) is not None]
                item[f"mean_{k}"] = _r(float(np.mean(vals)), 2) if vals else None
            item["unit"] = next((o["unit"] for o in offs if o.get("unit")), None)
        elif b.name == "endurance":
            rows = []
            for c in chans:
                x = _series(env_uv, pct, c, c in cal_rows)
                st = phase_stats(x, fs, [b.start_s], [b.end_s])
                third = (b.end_s - b.start_s - SKIP_S) / 3.0
                first = phase_stats(x, fs, [b.start_s], [b.start_s + SKIP_S + third])
                last = phase_stats(x, fs, [b.end_s - third], [b.end_s], skip_s=0.0)
                decline = (
                    100.0 * (last.mean[0] - first.mean[0]) / first.mean[0]
                    if np.isfinite(first.mean[0]) and first.mean[0] > 0
                    else np.nan
                )
                fat = _hold_fatigue(filtered_uv[c], fs, Phase("work", b.start_s, b.end_s, block=b.name))
                rows.append(
                    {
                        "channel": names[c],
                        "unit": "% of reference" if (pct is not None and c in cal_rows) else "uV",
                        "mean": _r(st.mean[0], 1),
                        "first_third_mean": _r(first.mean[0], 1),
                        "last_third_mean": _r(last.mean[0], 1),
                        "decline_pct": _r(decline, 1),
                        "median_frequency_change_pct": fat["median_frequency_change_pct"] if fat else None,
                        "median_frequency_slope_hz_per_s": fat["slope_hz_per_s"] if fat else None,
                    }
                )
            item["channels"] = rows
        blocks[b.name] = item
    pre, post = blocks.get("pre_baseline"), blocks.get("post_baseline")
    change = []
    if pre and post:
        post_by = {r["channel"]: r for r in post["channels"]}
        for r in pre["channels"]:
            q = post_by.get(r["channel"])
            if q and r["mean_uv"] and q["mean_uv"] is not None:
                change.append(
                    {
                        "channel": r["channel"],
                        "pre_uv": r["mean_uv"],
                        "post_uv": q["mean_uv"],
                        "change_pct": _r(100.0 * (q["mean_uv"] - r["mean_uv"]) / r["mean_uv"], 1),
                    }
                )
    return {"blocks": blocks, "post_vs_pre": change}
