"""Offline analysis of one recording: activations, noise floor, quality, fatigue, co-contraction, reps.

``analyze_recording(rec, settings) -> Analysis`` runs the :mod:`dsp` pipeline over a
:class:`~emg.recordings.recording.Recording` (zero-phase by default, the best offline estimate; ``causal``
reproduces exactly what the patient saw live) and returns an :class:`Analysis` whose
``to_dict()`` is the stable JSON documented in docs/ANALYSIS_JSON.md. ``analyze_file(path)`` does
the same from a path and returns that dict; ``analyze_many(paths)`` runs many files in parallel on
local processes or on a Dask cluster (``scheduler="tcp://host:port"``).

Amplitudes are in the recording's units (microvolts unless ``units`` says otherwise), times in
seconds from the first sample, frequencies in Hz.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dsp.calibration import Calibration
from dsp.design import design_filters
from dsp.detection import Activation, detect_activations
from dsp.errors import SignalError
from dsp.features import cocontraction_index, spectral_frequencies, symmetry_index
from dsp.pipeline import emg_process
from dsp.quality.assessment import (
    check_channel,
    detect_ecg,
    fill_nonfinite,
    flag_summary,
    mains_share,
    power_spectra,
    sample_flags,
)
from emg import __version__
from emg.analysis.drill import drill_reps, replay_drill_recording
from emg.analysis.edges import edge_lines, edge_pad, unpad_activations
from emg.analysis.phase_stats import clinical_summary
from emg.analysis.phases import SessionPhases, session_phases
from emg.analysis.quality import check_json, choose_mains, ecg_json, recording_quality, recording_rail_uv
from emg.analysis.rounding import rounded
from emg.errors import ConfigError, RecordingError
from emg.recordings.recording import Recording
from feedback.calibration_store import read_calibration
from feedback.errors import FeedbackError
from feedback.events import jsonable

log = logging.getLogger(__name__)

SCHEMA = "emg-analysis/1"

#: A contraction at least this long is analysed for fatigue (median-frequency slope).
SUSTAINED_MIN_S = 2.0
#: Spectral window and step for the median frequency during a contraction.
SPECTRAL_WINDOW_S = 0.5
SPECTRAL_STEP_S = 0.25
#: An activation whose mean envelope is at least this many times the rest level is "confident".
CONFIDENT_RATIO = 3.0


@dataclass
class AnalysisSettings:
    """What to analyse and how. ``mains_hz=None`` detects 50 or 60 Hz from the data."""

    channels: Sequence[str | int] | None = None  # None: the channels the session used (sidecar), else all
    all_channels: bool = False  # every channel of the file, also those the session did not use
    mains_hz: float | None = None
    zero_phase: bool = True
    envelope: str = "adaptive"
    near_heart: bool | None = None  # None: on when ECG contamination is found
    calibration: Any = None  # dsp.calibration.Calibration, its dict, JSON text or file path; None: from the sidecar
    fs_hz: float | None = None  # for files without a rate
    units: str | None = None  # for CSV/text files: uV, mV, V, counts
    keep_signals: bool = True  # keep filtered/envelope arrays on the Analysis (reports need them)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("calibration", None)
        d.pop("keep_signals", None)
        d["channels"] = list(self.channels) if self.channels else None
        return d


@dataclass
class Analysis:
    """The result for one recording: ``summary`` (JSON dict) plus signals for plots."""

    summary: dict[str, Any]
    recording: Recording | None = None
    channel_index: list[int] = field(default_factory=list)  # rows of the recording analysed
    filtered_uv: np.ndarray | None = None
    envelope_uv: np.ndarray | None = None
    pct: np.ndarray | None = None  # activation in % of reference where a calibration is known
    timings_s: dict[str, float] = field(default_factory=dict)  # wall time per step (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        return self.summary

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.summary, indent=indent, allow_nan=False)


# =========================================================================== entry points


def analyze_file(
    path: str | Path, settings: AnalysisSettings | None = None, *, progress: bool = False, **overrides: Any
) -> dict[str, Any]:
    """Read and analyse one file; the JSON dict (picklable: for process pools and Dask)."""
    from emg.recordings.readers import read_recording

    s = settings or AnalysisSettings()
    s = AnalysisSettings(**{**{k: getattr(s, k) for k in s.__dataclass_fields__}, **overrides, "keep_signals": False})
    rec = read_recording(path, s.fs_hz, units=s.units)
    return analyze_recording(rec, s, progress=progress).to_dict()


def _analyze_file_safe(path: str, settings_dict: dict[str, Any]) -> dict[str, Any]:
    """Worker entry: errors become ``{"path", "error"}`` so one bad file does not stop a batch."""
    from emg.errors import EmgError

    try:
        return analyze_file(path, AnalysisSettings(**settings_dict))
    except (EmgError, SignalError) as err:
        return {"schema": SCHEMA, "path": str(path), "error": str(err)}
    except Exception as err:
        log.exception("analysis of %s failed", path)
        return {
            "schema": SCHEMA,
            "path": str(path),
            "error": f"unexpected {type(err).__name__}: {err} (analyse this file alone with --debug)",
        }


def analyze_many(
    paths: Iterable[str | Path],
    settings: AnalysisSettings | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Analyse many files; results in input order (a failed file gives ``{"path", "error"}``).

    Local processes by default (``workers`` defaults to the CPU count); ``scheduler`` is a Dask
    scheduler address (``tcp://127.0.0.1:8786``) to run on a cluster instead.
    """
    if workers is not None and workers < 1:
        raise ConfigError(
            f"--workers {workers} is not a positive number of processes; give e.g. --workers 2 "
            "(or leave it out to use every CPU)"
        )
    paths = [str(p) for p in paths]
    s = settings or AnalysisSettings()
    sd = {k: getattr(s, k) for k in s.__dataclass_fields__}  # plain, picklable settings for the workers
    sd["keep_signals"] = False
    if hasattr(sd["calibration"], "to_json"):
        sd["calibration"] = sd["calibration"].to_json()
    if sd["channels"] is not None:
        sd["channels"] = list(sd["channels"])
    bar = _progress_bar(len(paths), "recordings", progress)
    results: list[dict[str, Any] | None] = [None] * len(paths)
    try:
        if scheduler:
            results = _run_dask(paths, sd, scheduler, bar)
        elif len(paths) <= 1 or (workers or os.cpu_count() or 1) <= 1:
            for i, p in enumerate(paths):
                results[i] = _analyze_file_safe(p, sd)
                bar.update(1)
        else:
            import concurrent.futures as cf
            import multiprocessing as mp

            n = min(len(paths), workers or os.cpu_count() or 1)
            ctx = mp.get_context("spawn")  # no fork of a process that may hold threads (numba, Qt)
            with cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
                futs = {pool.submit(_analyze_file_safe, p, sd): i for i, p in enumerate(paths)}
                for fut in cf.as_completed(futs):
                    results[futs[fut]] = fut.result()
                    bar.update(1)
    finally:
        bar.close()
    return [r if r is not None else {"path": p, "error": "not analysed"} for r, p in zip(results, paths, strict=True)]


def _run_dask(paths: list[str], sd: dict[str, Any], scheduler: str, bar: Any) -> list[dict[str, Any]]:
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs Dask: pip install -e '.[cluster]'") from None
    try:
        client = Client(scheduler, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler} ({err}); check the address "
            "or drop --scheduler to use local processes"
        ) from None
    try:
        futs = client.map(_analyze_file_safe, paths, [sd] * len(paths), pure=False)
        index = {f.key: i for i, f in enumerate(futs)}
        out: list[dict[str, Any] | None] = [None] * len(paths)
        for fut in futs:  # results in order; the cluster runs them all at once meanwhile
            out[index[fut.key]] = fut.result()
            bar.update(1)
        return out  # type: ignore[return-value]
    finally:
        client.close()


def _progress_bar(total: int, unit: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=f" {unit}", disable=not enabled, leave=False, dynamic_ncols=True)


# =========================================================================== one recording


def analyze_recording(rec: Recording, settings: AnalysisSettings | None = None, *, progress: bool = False) -> Analysis:
    """Analyse ``rec`` (see the module docstring); raises RecordingError when nothing can be analysed."""
    s = settings or AnalysisSettings()
    fs = float(rec.fs_hz)
    if fs < 100:
        raise RecordingError(
            f"sampling rate {fs:g} Hz is too low for surface EMG (needs >= 100 Hz); "
            "check the file's rate or give the right one with --fs"
        )
    idx, channels_source = analysed_channels(rec, s)
    raw = np.asarray(rec.data_uv[idx], dtype=np.float64)
    names = [rec.channel_names[i] for i in idx]
    muscles = [rec.muscles[i] if i < len(rec.muscles) else "" for i in idx]
    n = raw.shape[1]
    if n < int(fs):
        raise RecordingError(
            f"the recording is {n / fs:.2f} s long; at least 1 s is needed to analyse it "
            "(it is truncated or was stopped at once)"
        )
    bar = _progress_bar(6, "steps", progress)
    timings: dict[str, float] = {"_t": time.perf_counter()}

    # ---- per-channel signal checks on the raw data (before any filtering)
    nan_counts = (~np.isfinite(raw)).sum(axis=1)
    clean = fill_nonfinite(raw)
    rail_uv = recording_rail_uv(rec)
    checks = [check_channel(clean[c], rail_uv=rail_uv, nonfinite_count=int(nan_counts[c])) for c in range(len(idx))]
    usable = [chk.usable for chk in checks]
    _lap(timings, "checks")
    bar.update(1)

    # ---- mains and ECG decide the filter set-up
    spectra = power_spectra(clean, fs)
    mains_hz, mains_source = choose_mains(rec, spectra, usable, s.mains_hz, fs)
    ecg = detect_ecg(clean, fs, channels=[c for c in range(len(idx)) if usable[c]])
    if s.near_heart is None:
        near_heart = any(e is not None and e.contaminated for e in ecg)
        near_heart_reason = "ECG contamination detected" if near_heart else "no ECG found"
    else:
        near_heart = bool(s.near_heart)
        near_heart_reason = "option"
    _lap(timings, "mains_ecg")
    bar.update(1)

    # ---- filter + envelope, and detection (dsp)
    work = clean - np.median(clean, axis=1, keepdims=True)
    # zero-phase filters see the file's edges: continue the mains lines, DC and drift past them so no
    # start-up transient can look like an activation (see edge_pad)
    padded, pad = edge_pad(work, fs, edge_lines(fs, mains_hz))
    design = design_filters(fs, mains_hz=mains_hz, near_heart=near_heart)
    if s.zero_phase:
        filtered, envelope = emg_process(
            padded, fs, mains_hz=mains_hz, near_heart=near_heart, zero_phase=True, envelope=s.envelope
        )
        filtered = np.ascontiguousarray(filtered[:, pad : pad + n])
        envelope = np.ascontiguousarray(envelope[:, pad : pad + n])
    else:
        # causal: the raw samples exactly as the live pipeline received them (it holds NaNs itself)
        filtered, envelope = emg_process(
            raw, fs, mains_hz=mains_hz, near_heart=near_heart, zero_phase=False, envelope=s.envelope
        )
    _lap(timings, "filter_envelope")
    bar.update(1)
    # detection is always offline, whatever the display mode: dsp finds the bursts on its zero-phase
    # filtering and places each onset/offset with its causal/anti-causal chains, so it needs the raw
    # (edge-padded) samples, not a prefiltered signal
    rows_ok = [c for c in range(len(idx)) if usable[c]]
    det = detect_activations(padded[rows_ok], fs, mains_hz=mains_hz, near_heart=near_heart) if rows_ok else []
    det = [unpad_activations(ch, pad / fs, n / fs) for ch in det]
    acts: list[list[Activation]] = [[] for _ in idx]
    j = 0
    for c in range(len(idx)):
        if usable[c]:
            acts[c] = det[j]
            j += 1
    _lap(timings, "detection")
    bar.update(1)
    # the calibration's contractions are shown apart and kept out of every statistic
    sp = session_phases(rec.events, n / fs)
    cal_acts = [[a for a in ch if _in_span(a, sp.calibration_s)] for ch in acts]
    all_acts = acts
    acts = [[a for a in ch if not _in_span(a, sp.calibration_s)] for ch in acts]
    if sp.calibration_s:  # a calibration contraction can outlast its cue: the drill starts after it
        tail_s = max([sp.calibration_s[1]] + [a.offset_s + 0.25 for ch in cal_acts for a in ch])
        sp_drill = sp.after(tail_s)
    else:
        sp_drill = sp

    # ---- calibration (% of reference) when known
    cal = _load_calibration(s.calibration if s.calibration is not None else rec.meta.get("calibration"))
    cal_map = _calibration_map(cal, names, idx)
    pct = None
    if cal_map:
        pct = np.full_like(envelope, np.nan)
        for c, (floor, ref) in cal_map.items():
            pct[c] = 100.0 * (envelope[c] - floor) / (ref - floor)

    # ---- per-channel summaries
    # per-sample flags against the board's rail, else the level each channel sits pinned at (if any)
    qflags = flag_summary(sample_flags(raw, fs, [chk.rail_uv for chk in checks]))
    f_hz, psd = spectra
    channels_out = []
    for c in range(len(idx)):
        q = check_json(checks[c])
        share, lines = mains_share(f_hz, psd[c], fs, mains_hz)
        q["mains_share"] = rounded(share, 4)
        q["mains_lines_hz"] = lines
        q["ecg"] = ecg_json(ecg[c])
        q["spike_count"] = int(qflags.spike_count[c])
        q["lead_off_fraction"] = rounded(float(qflags.lead_off_fraction[c]), 6)
        q["flagged_fraction"] = rounded(float(qflags.flagged_fraction[c]), 6)
        status = checks[c].status
        reason = checks[c].reason
        ch_acts = acts[c]
        rest_mask = _rest_mask(n, fs, all_acts[c])
        floor_rms = float(np.sqrt(np.mean(filtered[c][rest_mask] ** 2))) if rest_mask.any() else None
        floor_env = float(np.median(envelope[c][rest_mask])) if rest_mask.any() else None
        activations = []
        cal_items = []
        for a in all_acts[c]:
            # amplitudes from the analysis envelope: the same method (and, causal, the same numbers) as
            # the live view and the calibration, so % of reference compares like with like
            s0, s1 = int(a.onset_s * fs), max(int(a.onset_s * fs) + 1, int(a.offset_s * fs))
            seg = envelope[c][s0:s1]
            peak, level = float(seg.max()), float(seg.mean())
            item = {
                "onset_s": rounded(a.onset_s),
                "offset_s": rounded(a.offset_s),
                "duration_s": rounded(a.offset_s - a.onset_s),
                "peak": rounded(peak),
                "mean": rounded(level),
            }
            if c in cal_map:
                floor, ref = cal_map[c]
                item["peak_pct"] = rounded(100.0 * (peak - floor) / (ref - floor))
                item["mean_pct"] = rounded(100.0 * (level - floor) / (ref - floor))
            ratio = level / floor_env if floor_env and floor_env > 0 else None
            item["ratio_to_rest"] = rounded(ratio, 2)
            item["confident"] = bool(ratio is not None and ratio >= CONFIDENT_RATIO)
            (cal_items if _in_span(a, sp.calibration_s) else activations).append(item)
        if status == "ok" and not activations:
            reason = "no contraction above the rest noise floor"
        fat = (
            _fatigue(_spectral_track(filtered[c], fs, ch_acts), fs, ch_acts)
            if usable[c]
            else _no_fatigue("channel not usable")
        )
        channels_out.append(
            {
                "index": int(idx[c]),
                "name": names[c],
                "muscle": muscles[c] or None,
                "status": status,
                "reason": reason,
                "n_activations": len(activations),
                "n_confident": int(sum(1 for a in activations if a["confident"])),
                "activations": activations,
                "calibration_activations": cal_items,
                "noise_floor": rounded(floor_rms) if usable[c] else None,
                "noise_floor_envelope": rounded(floor_env) if usable[c] else None,
                "calibration": (
                    {"rest_floor": rounded(cal_map[c][0]), "reference": rounded(cal_map[c][1])}
                    if c in cal_map
                    else None
                ),
                "quality": jsonable(q),
                "fatigue": fat,
            }
        )
    _lap(timings, "channels_quality_fatigue")
    bar.update(1)

    # ---- across channels
    work_mask = _work_mask(sp_drill, n, fs)
    cocon = _cocontraction(
        envelope, acts, names, usable, fs, cal_map, [ch["noise_floor_envelope"] for ch in channels_out], work_mask
    )
    sym = _symmetry(envelope, names, muscles, usable, acts, fs)
    reps, drill = drill_reps(rec, idx, acts, pct, fs, names)
    if drill is not None and sp.drill_kind and drill.get("kind") == "calibration":
        drill["name"], drill["kind"] = sp.drill_name, sp.drill_kind  # the drill, not the calibration before it
    if drill is not None and isinstance(rec.meta.get("drill"), dict):
        drill["replay"] = replay_drill_recording(rec, cal, reps, mains_hz, near_heart)
    clinical = clinical_summary(
        sp_drill,
        fs,
        names,
        muscles,
        envelope,
        pct,
        set(cal_map),
        filtered,
        reps,
        _failure_reasons(rec),
        _trained_rows(rec, sp, reps, names, idx),
        usable,
        "zero-phase" if s.zero_phase else "causal",
    )
    clinical["calibration"] = _calibration_json(cal, cal_acts, sp, names)
    _lap(timings, "cross_channel_reps")
    bar.update(1)
    bar.close()

    rec_quality = recording_quality(rec, fs)
    units = rec.meta.get("units") or "uV"
    units = str(units.get("exg", "uV")) if isinstance(units, dict) else str(units)
    summary = {
        "schema": SCHEMA,
        "software_version": __version__,
        "path": str(rec.path) if rec.path else None,
        "source_format": rec.source_format,
        "start_time": rec.meta.get("start_time"),
        "patient": _meta_get(rec, "patient"),
        "sampling_rate": fs,
        "duration_s": rounded(n / fs),
        "n_samples": int(n),
        "units": units,
        "settings": {
            "mode": "zero-phase" if s.zero_phase else "causal",
            "mains_hz": mains_hz,
            "mains_source": mains_source,
            "filters": design.describe(),
            "band_hz": [float(design.band_hz[0]), float(design.band_hz[1])],
            "notch_hz": [float(f) for f in design.notch_hz],
            "envelope": s.envelope,
            "near_heart": near_heart,
            "near_heart_reason": near_heart_reason,
            "calibration": (cal_source(s, rec) if cal_map else None),
            "channels": names,
            "channels_source": channels_source,
        },
        "quality": rec_quality,
        "channels": channels_out,
        "cocontraction": cocon,
        "symmetry": sym,
        "reps": reps,
        "drill": drill,
        "session": _session_meta(rec),
        "clinical": clinical,
    }
    summary = jsonable(summary)
    if not any(usable):
        summary["error"] = "no usable channel: " + "; ".join(f"{ch['name']}: {ch['reason']}" for ch in channels_out)
    res = Analysis(summary=summary, recording=rec, channel_index=list(idx))
    timings.pop("_t")
    res.timings_s = timings
    if s.keep_signals:
        res.filtered_uv = filtered
        res.envelope_uv = envelope
        res.pct = pct
    return res


def _lap(timings: dict[str, float], name: str) -> None:
    now = time.perf_counter()
    timings[name] = round(now - timings["_t"], 4)
    timings["_t"] = now


def cal_source(s: AnalysisSettings, rec: Recording) -> str:
    return "option" if s.calibration is not None else "recording sidecar"


# =========================================================================== channel selection


def analysed_channels(rec: Recording, s: AnalysisSettings) -> tuple[list[int], str]:
    """Rows to analyse and why: ``option`` (``channels``), ``session`` (the sidecar's
    ``session.channels_used``: channels the session did not use are left out) or ``all``."""
    if s.channels:
        return select_channels(rec, s.channels), "option"
    used = (rec.meta.get("session") or {}).get("channels_used") if isinstance(rec.meta.get("session"), dict) else None
    if not s.all_channels and isinstance(used, list) and used and all(u in rec.channel_names for u in used):
        return [rec.channel_names.index(u) for u in used], "session"
    return list(range(rec.n_channels)), "all"


def select_channels(rec: Recording, wanted: Sequence[str | int] | None) -> list[int]:
    """Row indices for ``wanted`` (names, muscle labels or 1-based numbers); all when None."""
    if not wanted:
        return list(range(rec.n_channels))
    out: list[int] = []
    lower = [n.lower() for n in rec.channel_names]
    mus = [m.lower() for m in rec.muscles]
    for w in wanted:
        for tok in str(w).replace(",", " ").split():
            t = tok.strip().lower()
            if t in lower:
                out.append(lower.index(t))
            elif t in mus:
                out.append(mus.index(t))
            elif t.isdigit() and 1 <= int(t) <= rec.n_channels:
                out.append(int(t) - 1)
            else:
                raise ConfigError(
                    f"unknown channel {tok!r}: this recording has {', '.join(rec.channel_names)} "
                    f"(or numbers 1-{rec.n_channels})"
                )
    return list(dict.fromkeys(out))


# =========================================================================== rest, fatigue


def _rest_mask(n: int, fs: float, acts: list[Activation]) -> np.ndarray:
    """Samples at rest: away from every activation (with 0.25 s margins) and from the file's edges."""
    m = np.ones(n, dtype=bool)
    edge = min(int(0.5 * fs), n // 10)
    m[:edge] = False
    m[n - edge :] = False
    pad = int(0.25 * fs)
    for a in acts:
        m[max(0, int(a.onset_s * fs) - pad) : min(n, int(a.offset_s * fs) + pad)] = False
    return m


def _no_fatigue(reason: str) -> dict[str, Any]:
    return {
        "contractions": [],
        "median_frequency_slope_hz_per_s": None,
        "fatigue_index_pct_per_s": None,
        "median_frequency_trend_hz_per_min": None,
        "reason": reason,
    }


def _spectral_track(x: np.ndarray, fs: float, acts: list[Activation]) -> tuple[np.ndarray, np.ndarray]:
    """(window centres s, median frequency Hz) of one channel, only where it is active.

    The active spans are joined end to end and passed to dsp in one call; windows that straddle a
    join are dropped and the others mapped back to recording time."""
    w = int(round(SPECTRAL_WINDOW_S * fs))
    spans = [(int(a.onset_s * fs), int(a.offset_s * fs)) for a in acts]
    spans = [(s0, s1) for s0, s1 in spans if s1 - s0 >= w]
    if not spans:
        return np.empty(0), np.empty(0)
    joined = np.concatenate([x[s0:s1] for s0, s1 in spans])[None, :]
    track = spectral_frequencies(joined, fs, window_s=SPECTRAL_WINDOW_S, step_s=SPECTRAL_STEP_S)
    t_c, mdf = np.asarray(track.times_s), np.atleast_2d(track.median_hz)[0]
    starts = np.round(t_c * fs - w / 2).astype(np.int64)  # window starts in the joined signal
    seg_len = np.array([s1 - s0 for s0, s1 in spans])
    seg_off = np.concatenate([[0], np.cumsum(seg_len)])
    k = np.searchsorted(seg_off, starts, side="right") - 1
    inside = (k >= 0) & (k < len(spans)) & (starts + w <= seg_off[np.clip(k + 1, 0, len(spans))])
    orig0 = np.array([s0 for s0, _ in spans])
    centres = (orig0[k[inside]] + (starts[inside] - seg_off[k[inside]]) + w / 2) / fs
    return centres, mdf[inside]


def _fatigue(track: tuple[np.ndarray, np.ndarray], fs: float, acts: list[Activation]) -> dict[str, Any]:
    """Median-frequency slope over every sustained contraction (>= SUSTAINED_MIN_S).

    Uses the windows of ``track`` (centres, MDF) that lie wholly inside each contraction."""
    rows = []
    all_mdf = []
    t_all, mdf_all = track
    half = SPECTRAL_WINDOW_S / 2.0
    for a in acts:
        lo = np.searchsorted(t_all, a.onset_s + half)
        hi = np.searchsorted(t_all, a.offset_s - half, side="right")
        t_mid, mdf = t_all[lo:hi], mdf_all[lo:hi]
        good = np.isfinite(mdf)
        if good.sum() >= 1:
            all_mdf.append((0.5 * (a.onset_s + a.offset_s), float(np.median(mdf[good]))))
        if a.offset_s - a.onset_s < SUSTAINED_MIN_S or good.sum() < 4:
            continue
        slope, icpt = np.polyfit(t_mid[good], mdf[good], 1)
        start = float(icpt + slope * t_mid[good][0])
        rows.append(
            {
                "onset_s": rounded(a.onset_s),
                "duration_s": rounded(a.offset_s - a.onset_s),
                "median_frequency_start_hz": rounded(start, 2),
                "median_frequency_end_hz": rounded(float(icpt + slope * t_mid[good][-1]), 2),
                "slope_hz_per_s": rounded(float(slope), 4),
                "slope_pct_per_s": rounded(float(100.0 * slope / start), 4) if start > 0 else None,
            }
        )
    trend = None
    if len(all_mdf) >= 3:
        tt, mm = np.array(all_mdf).T
        if np.ptp(tt) > 0:
            trend = rounded(float(np.polyfit(tt, mm, 1)[0] * 60.0), 3)
    if not rows:
        out = _no_fatigue(f"no contraction of {SUSTAINED_MIN_S:g} s or longer")
        out["median_frequency_trend_hz_per_min"] = trend
        out["contraction_median_frequency_hz"] = [[rounded(t), rounded(m, 2)] for t, m in all_mdf]
        return out
    slopes = [r["slope_hz_per_s"] for r in rows]
    pcts = [r["slope_pct_per_s"] for r in rows if r["slope_pct_per_s"] is not None]
    return {
        "contractions": rows,
        "median_frequency_slope_hz_per_s": rounded(float(np.median(slopes)), 4),
        "fatigue_index_pct_per_s": rounded(float(np.median(pcts)), 4) if pcts else None,
        "median_frequency_trend_hz_per_min": trend,
        "contraction_median_frequency_hz": [[rounded(t), rounded(m, 2)] for t, m in all_mdf],
        "reason": "",
    }


# =========================================================================== across channels


def _active_mask(n: int, fs: float, acts: list[Activation]) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a in acts:
        m[int(a.onset_s * fs) : int(a.offset_s * fs)] = True
    return m


def _cocontraction(
    env: np.ndarray,
    acts: list[list[Activation]],
    names: list[str],
    usable: list[bool],
    fs: float,
    cal_map: dict[int, tuple[float, float]] | None = None,
    rest_env: list[float | None] | None = None,
    over_mask: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Co-contraction index (%) for each pair of active channels, over the time either is active
    (``over_mask``: over those samples instead, the drill's work phases).

    With a calibration for both channels the envelopes are compared in % of each muscle's reference
    (floor removed): relative effort. Without one, each is taken above its rest level and scaled to its
    own 99th percentile: the overlap of the two activation *patterns*, which says nothing about how hard
    the second muscle worked; ``normalisation`` in the result says which it is."""
    cal_map = cal_map or {}
    active = [c for c in range(env.shape[0]) if usable[c] and (acts[c] or over_mask is not None)][:8]
    out = []
    for i, a in enumerate(active):
        for b in active[i + 1 :]:
            m = _active_mask(env.shape[1], fs, acts[a]) | _active_mask(env.shape[1], fs, acts[b])
            if over_mask is not None:
                m = over_mask
            if not m.any():
                continue
            ea, eb = env[a][m], env[b][m]
            if a in cal_map and b in cal_map:
                (fa, ra), (fb, rb) = cal_map[a], cal_map[b]
                xa, xb = (ea - fa) / (ra - fa), (eb - fb) / (rb - fb)
                how = "% of reference"
            else:
                la = rest_env[a] if rest_env and rest_env[a] else 0.0
                lb = rest_env[b] if rest_env and rest_env[b] else 0.0
                xa, xb = np.maximum(ea - la, 0.0), np.maximum(eb - lb, 0.0)
                na, nb = np.percentile(xa, 99), np.percentile(xb, 99)
                if na <= 0 or nb <= 0:
                    continue
                xa, xb = xa / na, xb / nb
                how = "own peak (no calibration: pattern overlap, not relative effort)"
            out.append(
                {
                    "channels": [names[a], names[b]],
                    "index_pct": rounded(float(cocontraction_index(xa, xb)), 2),
                    "normalisation": how,
                    "over": "drill work phases" if over_mask is not None else "either channel active",
                    "overlap_s": rounded(
                        float(
                            (_active_mask(env.shape[1], fs, acts[a]) & _active_mask(env.shape[1], fs, acts[b])).sum()
                            / fs
                        )
                    ),
                }
            )
    return out


_SIDES = (("left", "right"), ("l_", "r_"), ("_l", "_r"), ("l ", "r "), (" l", " r"), ("links", "rechts"))


def _symmetry(
    env: np.ndarray, names: list[str], muscles: list[str], usable: list[bool], acts: list[list[Activation]], fs: float
) -> list[dict[str, Any]]:
    """Left/right symmetry index (%) for channel pairs whose names or muscles differ only by side."""
    labels = [(m or nm).lower() for nm, m in zip(names, muscles, strict=True)]
    out = []
    for i, li in enumerate(labels):
        for j, lj in enumerate(labels):
            if i == j or not (usable[i] and usable[j]):
                continue
            for left, right in _SIDES:
                if left in li and li.replace(left, right, 1) == lj:
                    m = _active_mask(env.shape[1], fs, acts[i]) | _active_mask(env.shape[1], fs, acts[j])
                    if not m.any():
                        m = np.ones(env.shape[1], dtype=bool)
                    out.append(
                        {
                            "left": names[i],
                            "right": names[j],
                            "index_pct": rounded(
                                float(symmetry_index(float(env[i][m].mean()), float(env[j][m].mean()))), 2
                            ),
                            "left_mean": rounded(float(env[i][m].mean())),
                            "right_mean": rounded(float(env[j][m].mean())),
                        }
                    )
                    break
    return out


# =========================================================================== calibration


def _load_calibration(cal: Any) -> Calibration | None:
    """The analysis' calibration from a :class:`~dsp.calibration.Calibration`, its dict (a sidecar's
    ``calibration``), its JSON text or the path of its file; None when there is none."""
    if cal is None or (isinstance(cal, dict) and not cal):
        return None
    if isinstance(cal, Calibration):
        return cal
    try:
        if isinstance(cal, dict):
            return Calibration.from_dict(cal)
        if isinstance(cal, Path) or (isinstance(cal, str) and not cal.lstrip().startswith("{")):
            return read_calibration(cal)
        if isinstance(cal, str):
            return Calibration.from_json(cal)
    except FeedbackError as err:  # the file reader's one line already says what to do
        raise ConfigError(str(err)) from None
    except SignalError as err:
        raise ConfigError(f"calibration is not readable ({err}); re-run the calibration") from None
    raise ConfigError(f"a calibration cannot be a {type(cal).__name__}; give its file, JSON text or dict")


def _calibration_map(cal: Calibration | None, names: list[str], idx: list[int]) -> dict[int, tuple[float, float]]:
    """Analysed row -> (rest_floor, reference) in envelope units, matched by channel name, else position."""
    if cal is None:
        return {}
    floor, ref = cal.rest_floor_uv, cal.reference_uv
    cal_names = list(cal.channel_names or [])
    out = {}
    for c, (nm, orig) in enumerate(zip(names, idx, strict=True)):
        k = cal_names.index(nm) if nm in cal_names else (orig if orig < floor.size else None)
        if k is None or k >= ref.size:
            continue
        if ref[k] > floor[k]:
            out[c] = (float(floor[k]), float(ref[k]))
    return out


# =========================================================================== session parts


def _in_span(a: Activation, span: tuple[float, float] | None) -> bool:
    """The activation starts inside ``span`` (s), e.g. the calibration."""
    return span is not None and span[0] <= a.onset_s < span[1]


def _work_mask(sp: SessionPhases, n: int, fs: float) -> np.ndarray | None:
    """Samples of the drill's work phases (None: the recording has none)."""
    from dsp.phases import phase_mask

    work = sp.work()
    if not work:
        return None
    return phase_mask(n, fs, [p.start_s for p in work], [p.end_s for p in work])


def _failure_reasons(rec: Recording) -> dict[tuple[Any, Any], str]:
    """(set, rep) -> the reason of its ``failure`` event."""
    out = {}
    for e in rec.events:
        d = e.data or {}
        if e.label == "failure":
            out[(d.get("set"), d.get("rep"))] = str(d.get("reason") or "")
    return out


def _trained_rows(
    rec: Recording, sp: SessionPhases, reps: list[dict[str, Any]], names: list[str], idx: list[int]
) -> list[int]:
    """Analysed rows the drill cued: the reps' channels, else the work cues' ``channel``/``targets``
    (indices into the session's ``channels_used`` when the sidecar has them, else recording rows)."""
    rows = [names.index(r["channel"]) for r in reps if r.get("channel") in names]
    if rows:
        return sorted(set(rows))
    used = (rec.meta.get("session") or {}).get("channels_used") if isinstance(rec.meta.get("session"), dict) else None
    row_of = {orig: k for k, orig in enumerate(idx)}
    out = set()
    t0, t1 = sp.drill_s or (0.0, -1.0)
    for e in rec.events:
        d = e.data or {}
        if e.label != "cue" or d.get("phase") not in ("contract", "hold") or not (t0 <= e.time_s <= t1):
            continue
        chans = [t[0] for t in d.get("targets") or [] if isinstance(t, list) and t] or [d.get("channel")]
        for k in chans:
            if not isinstance(k, int):
                continue
            orig = (
                rec.channel_names.index(used[k])
                if isinstance(used, list) and k < len(used) and used[k] in rec.channel_names
                else k
            )
            if orig in row_of:
                out.add(row_of[orig])
    return sorted(out)


def _calibration_json(
    cal: Calibration | None, cal_acts: list[list[Activation]], sp: SessionPhases, names: list[str]
) -> dict[str, Any] | None:
    """The calibration, apart: its span, kind, levels per channel and the contractions found in it."""
    if cal is None and sp.calibration_s is None:
        return None
    out: dict[str, Any] = {"span_s": list(sp.calibration_s) if sp.calibration_s else None, "kind": None, "channels": []}
    if cal is not None:
        out["kind"] = cal.kind
        out["reference_level_pct"] = getattr(cal, "reference_level_pct", None)
        cal_names = list(cal.channel_names or [])
        for k in range(cal.reference_uv.size):
            out["channels"].append(
                {
                    "name": cal_names[k] if k < len(cal_names) else str(k + 1),
                    "rest_floor_uv": rounded(float(cal.rest_floor_uv[k])),
                    "reference_uv": rounded(float(cal.reference_uv[k])),
                }
            )
        out["created"] = (cal.meta or {}).get("created") if isinstance(getattr(cal, "meta", None), dict) else None
    out["contractions"] = {names[c]: len(a) for c, a in enumerate(cal_acts) if a}
    return out


def _session_meta(rec: Recording) -> dict[str, Any]:
    """Who and what, from the sidecar: patient id/name, side, therapist notes, marks."""
    pat = _meta_get(rec, "patient")
    notes = rec.meta.get("notes")
    if isinstance(notes, str):
        notes = [notes] if notes.strip() else []
    elif not isinstance(notes, list):
        notes = []
    return {
        "patient_id": (pat.get("id") if isinstance(pat, dict) else pat),
        "patient_name": (pat.get("name") if isinstance(pat, dict) else None) or rec.meta.get("patient_name"),
        "side": (pat.get("side") if isinstance(pat, dict) else None) or rec.meta.get("side"),
        "notes": [str(x) for x in notes],
        "marks": [{"time_s": rounded(e.time_s), "n": (e.data or {}).get("n")} for e in rec.events if e.label == "mark"],
        "start_time": rec.meta.get("start_time"),
    }


# =========================================================================== helpers


def _meta_get(rec: Recording, key: str) -> Any:
    """A sidecar field, else the same field of the calibration's ``meta`` (patient, muscle, ...)."""
    v = rec.meta.get(key)
    cal = rec.meta.get("calibration")
    if v is None and isinstance(cal, str):
        try:
            cal = json.loads(cal)
        except ValueError:
            cal = None
    if v is None and isinstance(cal, dict):
        v = (cal.get("meta") or {}).get(key)
    return v
