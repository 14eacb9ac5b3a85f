"""Drill recordings: per-rep metrics from the recorded events, and the drill replayed offline.

Event labels are those of :mod:`feedback.events`; the replay uses :func:`feedback.replay.replay_drill`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import signal

from dsp.calibration import Calibration
from dsp.detection import Activation
from dsp.live import LiveChain
from emg.acquire.boards import CYTON_GAINS, cyton_scale_uv_per_count
from emg.analysis.quality import recording_package_gaps, recording_rail_uv
from emg.analysis.rounding import rounded
from emg.recordings.recording import Recording
from feedback.drill_config import config_from_dict
from feedback.drills import DRILL_CLASSES
from feedback.events import jsonable
from feedback.replay import ACTION_LABELS, actions_from_events, replay_drill


def drill_reps(
    rec: Recording, idx: list[int], acts: list[list[Activation]], pct: np.ndarray | None, fs: float, names: list[str]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Per-rep metrics from the recorded drill events (feedback/events.py labels), checked offline."""
    events = sorted(rec.events, key=lambda e: e.time_s)
    config = rec.meta.get("drill") if isinstance(rec.meta.get("drill"), dict) else {}
    drill_start = _drill_start(events, str(config.get("kind") or ""))
    # the drill's own end (an in-session calibration has its drill_start/drill_end first)
    drill_end = next(
        (e for e in events if e.label == "drill_end" and (drill_start is None or e.sample >= drill_start.sample)),
        None,
    )
    if not any(e.label == "rep_start" for e in events):
        return [], ({"summary": (drill_end.data or {}).get("summary")} if drill_end else None)
    row_of = {orig: k for k, orig in enumerate(idx)}
    session = rec.meta.get("session") if isinstance(rec.meta.get("session"), dict) else {}
    used = session.get("channels_used")
    used_rows = (
        [rec.channel_names.index(u) for u in used]
        if isinstance(used, list) and used and all(isinstance(u, str) and u in rec.channel_names for u in used)
        else None
    )

    def session_row(ch: int) -> int:
        """The file row of the drill's channel ``ch`` (an index into the channels the session used)."""
        return used_rows[ch] if used_rows is not None and 0 <= ch < len(used_rows) else ch

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
        ch_session = (
            (cue_contract.data or {}).get("channel", r["start"].get("channel", 0))
            if cue_contract
            else r["start"].get("channel", 0)
        )
        c = row_of.get(session_row(int(ch_session or 0)))
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
    """Re-run the recorded drill (sidecar ``drill``) over the recording exactly as the live session ran it, and
    compare rep by rep.

    As live: the raw EMG rows of the channels the session used (sidecar ``session.channels_used``, else the
    calibration's channel names) go through one :class:`dsp.live.LiveChain` from the first sample (the live
    filter settings, sidecar ``filters``; without them ``mains_hz``/``near_heart``; the recording's ADC rail;
    DROPPED flags after lost packets), its calibration ``cal`` applied from the drill's first sample on; the drill
    starts at the sample of its recorded ``drill_start`` (after an in-session calibration, not at the recording's
    start) on the session's clock (``sample / fs_hz``), gets the quality flags and, where it uses it, the
    accelerometer, and the therapist's and patient's recorded actions (see :func:`session_actions`).
    ``reps`` (from :func:`drill_reps`) get the replayed drill metrics (see :func:`attach_replayed`).

    Returns ``{reps_attempted, reps_succeeded, results, agrees_with_recorded, differences, start_s, reps}``
    (``differences``: one ``{set, rep, what, live, replay}`` per rep boundary, result or metric that is not
    equal), or ``{error}``."""
    if cal is None:
        return {"error": "no calibration in the recording: the drill cannot be replayed in % of reference"}
    try:
        config = config_from_dict(rec.meta["drill"])
        start = _drill_start(rec.events, config.kind)
        if start is None:
            return {"error": f"the recording holds no drill_start event of its {config.kind} drill: nothing to replay"}
        s0 = int(start.sample)
        filt = rec.meta.get("filters") if isinstance(rec.meta.get("filters"), dict) else None
        if filt is not None:  # what the live session ran (it records these; near_heart only when it used it)
            live_mains = filt.get("mains_hz", mains_hz)
            live_heart = bool(filt.get("near_heart", False))
            live_env = str(filt.get("envelope") or cal.envelope)
        else:
            live_mains, live_heart, live_env = mains_hz, near_heart, cal.envelope
        names = list(cal.channel_names or rec.channel_names)
        rows = _session_rows(rec, names)
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
        x, exact = board_samples_uv(rec, rows)
        # the recording's 6 decimals move each sample by up to CSV_HALF_STEP_UV; unless the board's own values
        # were restored, levels (%) may differ from live by up to this much
        tol_pct = 0.0 if exact else level_tolerance_pct(chain, cal)
        n = x.shape[1]
        if not 0 <= s0 < n:
            return {"error": f"the drill started at sample {s0}, outside the recording's {n} samples"}
        lost = recording_package_gaps(rec)
        gaps = lost.at if lost is not None else np.empty(0, dtype=np.int64)
        pct = np.empty((len(rows), n - s0))
        flags = np.empty((len(rows), n - s0), dtype=np.uint8)
        # the calibration phase ran the same chain on the envelope; the live session set the calibration on it
        # just before the drill's first chunk
        for i, j in _chunks(0, s0):
            chain.process(np.ascontiguousarray(x[:, i:j]), gaps_at=_gaps_in(gaps, i, j))
        chain.set_calibration(cal)
        for i, j in _chunks(s0, n):
            step = chain.process(np.ascontiguousarray(x[:, i:j]), gaps_at=_gaps_in(gaps, i, j))
            pct[:, i - s0 : j - s0] = step.activation_pct
            flags[:, i - s0 : j - s0] = step.flags
        uses_accel = bool(DRILL_CLASSES[config.kind].uses_accel)
        accel = rec.accel[:, s0:] if uses_accel and rec.accel is not None and rec.accel.shape[1:] == (n,) else None
        events, _ = replay_drill(
            config,
            pct,
            fs_hz=rec.fs_hz,
            flags=flags,
            accel_g=accel,
            channel_names=names,
            first_sample=s0,
            actions=actions_from_events(session_actions(rec.events, s0, rec.fs_hz)),
            stop_at_end=True,
        )
    except Exception as err:  # noqa: BLE001 - a replay problem must not stop the analysis; it is reported
        return {"error": f"drill could not be replayed: {type(err).__name__}: {err}"}
    live = [(e.label, int(e.sample), e.data or {}) for e in rec.events if e.sample >= s0]
    again = [(e.label, int(round(e.t_s * rec.fs_hz)), e.data) for e in events]
    differences = compare_reps(live, again, rec.fs_hz, tol_pct)
    ends = [d for label, _, d in again if label == "rep_end"]
    results = [d.get("result") for d in ends]
    attach_replayed(reps, ends)
    return jsonable(
        {
            "reps_attempted": len(ends),
            "reps_succeeded": sum(1 for r in results if r == "success"),
            "results": results,
            "agrees_with_recorded": not differences and results == [r.get("result") for r in reps],
            "differences": differences,
            "start_s": rounded(s0 / rec.fs_hz),
            "exact_input": exact,
            "level_tolerance_pct": tol_pct,
            "reps": ends,
        }
    )


#: replayed drill metrics copied onto the analysis reps (the drill's own definitions, as live)
REPLAYED_KEYS = ("reaction_time_s", "time_to_band_s", "time_in_band_s", "time_to_relax_s", "steadiness_cv_pct")


def attach_replayed(reps: list[dict[str, Any]], ends: list[dict[str, Any]]) -> None:
    """Give each analysis rep (from :func:`drill_reps`) the replayed drill's metrics of the same set and rep: its
    ``reaction_time_s``, ``time_to_band_s``, ... become the drill's (as the patient was scored live, recomputed
    from the recording); the offline detector's estimates move to ``offline``; ``replayed`` holds the whole
    replayed ``rep_end``."""
    by_rep = {(d.get("set"), d.get("rep")): d for d in ends}
    for item in reps:
        d = by_rep.get((item.get("set"), item.get("rep")))
        if d is None:
            continue
        item["offline"] = {k: item[k] for k in ("onset_s", *REPLAYED_KEYS, "peak_pct") if k in item}
        item["replayed"] = {k: v for k, v in d.items() if k not in ("set", "rep")}
        for k in REPLAYED_KEYS:
            if k in d:
                item[k] = d[k]


def compare_reps(
    live: list[tuple[str, int, dict[str, Any]]],
    again: list[tuple[str, int, dict[str, Any]]],
    fs_hz: float,
    tol_pct: float = 0.0,
) -> list[dict[str, Any]]:
    """Where the replay differs from live: ``(label, sample, data)`` events of each; per rep (in order) its
    start and end sample (as ``start_s``/``end_s``), its result and every ``rep_end`` metric, compared exactly;
    a level metric (a float ``*_pct``) within ``1e-6 + 2 tol_pct max(1, |live|)`` (``tol_pct``: how far the
    activation may be from live, see :func:`level_tolerance_pct`; 1e-6: the metric's own 6 decimals; 2 max(1, |x|):
    a ratio of two levels of at least 1 %, such as a CV) when the input was not bit-exact."""

    def reps_of(events: list[tuple[str, int, dict[str, Any]]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for label, sample, data in events:
            if label == "rep_start":
                out.append({"set": data.get("set"), "rep": data.get("rep"), "start": sample})
            elif label == "rep_end" and out and "end" not in out[-1]:
                out[-1].update(end=sample, data=data)
        return out

    a, b = reps_of(live), reps_of(again)
    diffs: list[dict[str, Any]] = []
    for k in range(max(len(a), len(b))):
        x = a[k] if k < len(a) else {}
        y = b[k] if k < len(b) else {}
        where = {"set": x.get("set", y.get("set")), "rep": x.get("rep", y.get("rep"))}
        if not x or not y:
            diffs.append({**where, "what": "rep", "live": bool(x), "replay": bool(y)})
            continue
        for key, what in (("start", "start_s"), ("end", "end_s")):
            # the session records an event at the time just after the last sample received (a rep starting once
            # the rest's last sample came, a rep ended by a key between chunks) ON that last sample
            # (emg.live.parts.RecordingParts.post): one sample early, never more; the rep's times to the sample
            # are in its rep_end metrics (cue_time_s...), compared exactly below
            early = x.get(key) is not None and y.get(key) is not None and x[key] == y[key] - 1
            if x.get(key) != y.get(key) and not early:
                diffs.append({**where, "what": what, "live": _t(x.get(key), fs_hz), "replay": _t(y.get(key), fs_hz)})
        dx, dy = jsonable(x.get("data") or {}), jsonable(y.get("data") or {})
        for key in sorted(set(dx) | set(dy)):
            u, v = dx.get(key), dy.get(key)
            close = (
                tol_pct > 0
                and key.endswith("_pct")
                and isinstance(u, float)
                and isinstance(v, float)
                and abs(u - v) <= 1e-6 + 2 * tol_pct * max(1.0, abs(u))
            )
            if u != v and not close:
                diffs.append({**where, "what": key, "live": dx.get(key), "replay": dy.get(key)})
    return diffs


def _t(sample: int | None, fs_hz: float) -> float | None:
    return None if sample is None else rounded(sample / fs_hz)


def session_actions(events: list[Any], first_sample: int, fs_hz: float) -> list[dict[str, Any]]:
    """The therapist's and patient's actions during the drill (recorded events from ``first_sample`` on) as
    ``{label, time_s, data}`` at the session time the live drill got them. The session takes a key between two
    chunks, at the time just after the last sample received, and records it ON that last sample (an event
    cannot sit on a sample not yet received): the action applied after recorded sample ``s``, at ``(s+1)/fs``."""
    return [
        {"label": e.label, "time_s": (int(e.sample) + 1) / fs_hz, "data": e.data or {}}
        for e in events
        if e.label in ACTION_LABELS and int(e.sample) >= first_sample
    ]


#: the recording's text format keeps 6 decimals (``%.6f``): a sample is within this of the board's value (uV)
CSV_HALF_STEP_UV = 5e-7


def level_tolerance_pct(chain: LiveChain, cal: Calibration) -> float:
    """How far (% of reference) the activation from 6-decimal samples may be from live: each sample is off by at
    most CSV_HALF_STEP_UV, the filters multiply that by at most the L1 norm of their impulse response (3.2 at
    250 Hz, 20-100 Hz band-pass with notches), the envelope passes it on (no more for a steady level), and % of
    reference scales it by 100 / (reference - rest floor). Measured: 5.0e-6 % for a bound of 7.9e-6 % (20 uV)."""
    impulse = np.zeros(int(30 * chain.fs_hz))
    impulse[0] = 1.0
    gain = float(np.abs(signal.sosfilt(chain.design.sos, impulse)).sum())
    span = np.asarray(cal.reference_uv, dtype=np.float64) - np.asarray(cal.rest_floor_uv, dtype=np.float64)
    return float(100.0 * gain * CSV_HALF_STEP_UV / max(float(np.min(span)), 1e-9))


def board_samples_uv(rec: Recording, rows: list[int]) -> tuple[np.ndarray, bool]:
    """The EMG rows ``rows`` of ``rec`` (C, n) as the board delivered them live, float64 uV, and whether that
    is bit for bit (every row restored from ADC counts).

    The recording keeps 6 decimals; a Cyton-family board (sidecar ``gains``) delivers whole ADC counts times
    :func:`emg.acquire.boards.cyton_scale_uv_per_count`, which the 6 decimals pin down: a row whose every sample
    lies within half a decimal step of a multiple of its gain's count is restored to counts x scale, bit for bit
    what the live chain got (without this, the rounding moves activation by up to ~1e-6 % and a metric's 6th
    decimal can differ). A session on the playback board got the played file's 6-decimal values: exact as
    recorded. Other rows are returned as recorded."""
    x = np.array(rec.data_uv[rows], dtype=np.float64, order="C")
    if rec.meta.get("recorded_from") == "playback":  # live got the played file's 6 decimals: these very values
        return x, True
    gains = rec.meta.get("gains")
    restored = 0
    if not isinstance(gains, list):
        return x, False
    for k, row in enumerate(rows):
        gain = gains[row] if row < len(gains) else None
        if not isinstance(gain, int) or isinstance(gain, bool) or gain not in CYTON_GAINS:
            continue
        scale = cyton_scale_uv_per_count(gain)
        exact = np.round(x[k] / scale) * scale
        if np.all(np.abs(x[k] - exact) <= CSV_HALF_STEP_UV * (1 + 1e-6)):
            x[k] = exact
            restored += 1
    return x, restored == len(rows)


def _drill_start(events: list[Any], kind: str) -> Any | None:
    """The recorded ``drill_start`` of the session's drill of ``kind`` (not the calibration's, which comes first)."""
    starts = [e for e in events if e.label == "drill_start"]
    return next((e for e in starts if (e.data or {}).get("kind") == kind), None) or next(
        (e for e in starts if (e.data or {}).get("kind") != "calibration"), None
    )


def _session_rows(rec: Recording, names: list[str]) -> list[int]:
    """The recording rows of the channels the session used."""
    session = rec.meta.get("session") if isinstance(rec.meta.get("session"), dict) else {}
    used = session.get("channels_used")
    if isinstance(used, list) and used and all(isinstance(u, str) and u in rec.channel_names for u in used):
        return [rec.channel_names.index(u) for u in used]
    # calibration names are board channel names or muscles
    return [
        rec.channel_names.index(nm) if nm in rec.channel_names else rec.muscles.index(nm) if nm in rec.muscles else k
        for k, nm in enumerate(names)
    ]


def _chunks(i0: int, i1: int, size: int = 256) -> list[tuple[int, int]]:
    return [(i, min(i1, i + size)) for i in range(i0, i1, size)]


def _gaps_in(gaps: np.ndarray, i: int, j: int) -> tuple[int, ...]:
    k0, k1 = np.searchsorted(gaps, (i, j))
    return tuple((gaps[k0:k1] - i).tolist())


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
