"""Drill recordings: per-rep metrics from the recorded events, and the drill replayed offline.

Event labels are those of :mod:`feedback.events`; the replay uses :func:`feedback.replay.replay_drill`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dsp.calibration import Calibration
from dsp.detection import Activation
from dsp.live import LiveChain
from emg.analysis.quality import recording_package_gaps, recording_rail_uv
from emg.analysis.rounding import rounded
from emg.recordings.recording import Recording
from feedback.drill_config import config_from_dict
from feedback.drills import DRILL_CLASSES
from feedback.events import jsonable
from feedback.replay import actions_from_events, replay_drill


def drill_reps(
    rec: Recording, idx: list[int], acts: list[list[Activation]], pct: np.ndarray | None, fs: float, names: list[str]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Per-rep metrics from the recorded drill events (feedback/events.py labels), checked offline."""
    events = sorted(rec.events, key=lambda e: e.time_s)
    if not any(e.label == "rep_start" for e in events):
        drill_end = next((e for e in events if e.label == "drill_end"), None)
        return [], ({"summary": drill_end.data.get("summary")} if drill_end else None)
    drill_start = next((e for e in events if e.label == "drill_start"), None)
    drill_end = next((e for e in events if e.label == "drill_end"), None)
    row_of = {orig: k for k, orig in enumerate(idx)}
    reps = []
    open_rep: dict[str, Any] | None = None
    cues: list[Any] = []
    for e in events:
        d = e.data or {}
        if e.label == "rep_start":
            open_rep = {"set": d.get("set"), "rep": d.get("rep"), "start_s": e.time_s, "start": d, "cues": []}
        elif e.label == "cue" and open_rep is not None:
            open_rep["cues"].append(e)
        elif e.label in ("success", "failure", "rep_void") and open_rep is not None:
            open_rep.setdefault("outcome", e.label)
        elif e.label == "rep_end" and open_rep is not None:
            open_rep["end_s"] = e.time_s
            open_rep["end"] = d
            reps.append(open_rep)
            open_rep = None
        elif e.label == "cue":
            cues.append(e)
    out = []
    for r in reps:
        end = r["end"]
        cue_contract = next((c for c in r["cues"] if (c.data or {}).get("phase") == "contract"), None)
        cue_relax = next((c for c in r["cues"] if (c.data or {}).get("phase") == "relax"), None)
        t_cue = cue_contract.time_s if cue_contract else r["start_s"]
        ch_board = (
            (cue_contract.data or {}).get("channel", r["start"].get("channel", 0))
            if cue_contract
            else r["start"].get("channel", 0)
        )
        c = row_of.get(int(ch_board or 0))
        band = (cue_contract.data or {}).get("band_pct") if cue_contract else r["start"].get("band_pct")
        recorded = {k: v for k, v in end.items() if k not in ("set", "rep")}
        item: dict[str, Any] = {
            "set": r["set"],
            "rep": r["rep"],
            "start_s": rounded(r["start_s"]),
            "end_s": rounded(r["end_s"]),
            "cue_s": rounded(t_cue),
            "channel": names[c] if c is not None else None,
            "band_pct": band,
            "result": end.get("result", r.get("outcome")),
            "success": (end.get("result") == "success") if "result" in end else r.get("outcome") == "success",
            "recorded": jsonable(recorded),
        }
        if c is not None:
            onset = next((a for a in acts[c] if t_cue - 0.2 <= a.onset_s <= r["end_s"]), None)
            item["onset_s"] = rounded(onset.onset_s) if onset else None
            item["reaction_time_s"] = rounded(onset.onset_s - t_cue) if onset else None
            if pct is not None and band and len(band) == 2:
                item.update(band_metrics(pct[c], fs, t_cue, r["end_s"], band, cue_relax.time_s if cue_relax else None))
        out.append(item)
    drill: dict[str, Any] = {
        "name": (drill_start.data or {}).get("name") if drill_start else None,
        "kind": (drill_start.data or {}).get("kind") if drill_start else None,
        "reps_attempted": len(out),
        "reps_succeeded": int(sum(1 for x in out if x["success"])),
        "summary": (drill_end.data or {}).get("summary") if drill_end else None,
    }
    drill["success_rate"] = rounded(drill["reps_succeeded"] / len(out), 4) if out else None
    return out, jsonable(drill)


def replay_drill_recording(
    rec: Recording, cal: Calibration | None, reps: list[dict[str, Any]], mains_hz: float | None, near_heart: bool
) -> dict[str, Any]:
    """Re-run the recorded drill (sidecar ``drill``) over the recording as the live session ran it, and compare.

    The raw EMG rows of the channels the session used (sidecar ``session.channels_used``, else the calibration's
    channel names) go through :class:`dsp.live.LiveChain` in chunks, as live: the live filter settings (sidecar
    ``filters``; without them the analysis settings ``mains_hz``/``near_heart``), the recording's ADC rail,
    the calibration ``cal``, and DROPPED flags on the samples after lost packets (package numbers through
    :func:`emg.acquire.packets.package_gaps`). :func:`feedback.replay.replay_drill` gets that activation (% of
    reference), the quality flags and, for drills that use it, the accelerometer (g). Returns
    ``{reps_attempted, reps_succeeded, results, agrees_with_recorded, reps}`` or ``{error}``."""
    if cal is None:
        return {"error": "no calibration in the recording: the drill cannot be replayed in % of reference"}
    try:
        config = config_from_dict(rec.meta["drill"])
        filt = rec.meta.get("filters") if isinstance(rec.meta.get("filters"), dict) else None
        if filt is not None:  # what the live session ran (it records these; near_heart only when it used it)
            live_mains = filt.get("mains_hz", mains_hz)
            live_heart = bool(filt.get("near_heart", False))
            live_env = str(filt.get("envelope") or cal.envelope)
        else:
            live_mains, live_heart, live_env = mains_hz, near_heart, cal.envelope
        names = list(cal.channel_names or rec.channel_names)
        session = rec.meta.get("session") if isinstance(rec.meta.get("session"), dict) else {}
        used = session.get("channels_used")
        if isinstance(used, list) and used and all(isinstance(u, str) and u in rec.channel_names for u in used):
            rows = [rec.channel_names.index(u) for u in used]
        else:  # calibration names are board channel names or muscles
            rows = [
                rec.channel_names.index(nm)
                if nm in rec.channel_names
                else rec.muscles.index(nm)
                if nm and nm in rec.muscles
                else k
                for k, nm in enumerate(names)
            ]
        if len(rows) != cal.n_channels:
            return {
                "error": f"the session used {len(rows)} channels but its calibration has {cal.n_channels}; "
                "the sidecar's session.channels_used does not match its calibration"
            }
        chain = LiveChain(
            rec.fs_hz,
            len(rows),
            mains_hz=live_mains,
            near_heart=live_heart,
            envelope=live_env,
            rail_uv=recording_rail_uv(rec),
        )
        chain.set_calibration(cal)
        x = np.ascontiguousarray(rec.data_uv[rows], dtype=np.float64)
        n = x.shape[1]
        lost = recording_package_gaps(rec)
        gaps = lost.at if lost is not None else np.empty(0, dtype=np.int64)
        pct = np.empty(x.shape)
        flags = np.empty(x.shape, dtype=np.uint8)
        chunk = 256
        for i in range(0, n, chunk):
            j = min(n, i + chunk)
            k0, k1 = np.searchsorted(gaps, (i, j))
            step = chain.process(np.ascontiguousarray(x[:, i:j]), gaps_at=tuple((gaps[k0:k1] - i).tolist()))
            pct[:, i:j] = step.activation_pct
            flags[:, i:j] = step.flags
        drill_cls = DRILL_CLASSES[config.kind]
        uses_accel = bool(drill_cls.uses_accel)
        accel = rec.accel if uses_accel and rec.accel is not None and rec.accel.shape[1:] == (n,) else None
        first = next((e for e in rec.events if e.label == "drill_start"), rec.events[0] if rec.events else None)
        t0 = (first.time_s - first.sample / rec.fs_hz) if first is not None else 0.0
        actions = actions_from_events([{"label": e.label, "time_s": e.time_s, "data": e.data} for e in rec.events])
        events, _ = replay_drill(
            config,
            pct,
            fs_hz=rec.fs_hz,
            flags=flags,
            accel_g=accel,
            channel_names=names,
            t0_s=t0,
            actions=actions,
            stop_at_end=True,
        )
    except Exception as err:  # noqa: BLE001 - a replay problem must not stop the analysis; it is reported
        return {"error": f"drill could not be replayed: {type(err).__name__}: {err}"}
    ends = [e.data for e in events if e.label == "rep_end"]
    results = [d.get("result") for d in ends]
    recorded = [r.get("result") for r in reps]
    return jsonable(
        {
            "reps_attempted": len(ends),
            "reps_succeeded": sum(1 for r in results if r == "success"),
            "results": results,
            "agrees_with_recorded": results == recorded,
            "reps": ends,
        }
    )


def band_metrics(
    p: np.ndarray, fs: float, t0: float, t1: float, band: Sequence[float], t_relax: float | None
) -> dict[str, Any]:
    """Offline time to band, time in band, steadiness (CV %) and time to relax from the % envelope."""
    lo, hi = float(band[0]), float(band[1])
    s0, s1 = max(0, int(t0 * fs)), min(p.size, int(t1 * fs))
    seg = p[s0:s1]
    inb = (seg >= lo) & (seg <= hi)
    out: dict[str, Any] = {}
    first = int(np.argmax(inb)) if inb.any() else None
    out["time_to_band_s"] = rounded(first / fs) if first is not None else None
    out["time_in_band_s"] = rounded(float(inb.sum() / fs))
    hold = seg[inb]
    out["steadiness_cv_pct"] = (
        rounded(float(100.0 * hold.std() / hold.mean()), 2) if hold.size > 2 and hold.mean() > 0 else None
    )
    out["peak_pct"] = rounded(float(np.nanmax(seg))) if seg.size else None
    if t_relax is not None:
        r0 = int(t_relax * fs)
        tail = p[r0 : min(p.size, r0 + int(10 * fs))]
        below = np.flatnonzero(tail < max(5.0, 0.1 * lo))
        out["time_to_relax_s"] = rounded(below[0] / fs) if below.size else None
    return out
