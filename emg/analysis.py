"""Offline analysis of one recording: activations, noise floor, quality, fatigue, co-contraction, reps.

``analyze_recording(rec, settings) -> Analysis`` runs the :mod:`dsp` pipeline over a
:class:`~emg.recording.Recording` (zero-phase by default, the best offline estimate; ``causal``
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
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import signal as sps

from emg import __version__
from emg import _dsp_adapter as dspa
from emg.errors import ConfigError, RecordingError
from emg.recording import Recording

log = logging.getLogger(__name__)

SCHEMA = "emg-analysis/1"

#: A contraction at least this long is analysed for fatigue (median-frequency slope).
SUSTAINED_MIN_S = 2.0
#: Spectral window and step for the median frequency during a contraction.
SPECTRAL_WINDOW_S = 0.5
SPECTRAL_STEP_S = 0.25
#: ADS1299 rail at gain 24 in microvolts (Cyton); scaled by 24/gain when a gain is known.
CYTON_RAIL_UV_GAIN24 = 187_500.0
#: Channel share of samples at the rail above which the channel is called railed.
RAILED_FRACTION = 0.01
#: An activation whose mean envelope is at least this many times the rest level is "confident".
CONFIDENT_RATIO = 3.0
#: ECG: autocorrelation peak of the QRS-band envelope between 40 and 180 bpm above this -> contaminated.
ECG_AUTOCORR_MIN = 0.35
#: An activation cut by the file's start or end must keep at least this much inside the file.
EDGE_MIN_S = 0.1
#: ECG check of long recordings: this many blocks of ECG_BLOCK_S seconds spread over the file.
ECG_BLOCKS = 5
ECG_BLOCK_S = 60.0
#: Mains/spectrum of long recordings: at most this many 4 s segments, spread over the file.
SPECTRUM_MAX_SEGMENTS = 256


@dataclass
class AnalysisSettings:
    """What to analyse and how. ``mains_hz=None`` detects 50 or 60 Hz from the data."""

    channels: Sequence[str | int] | None = None
    mains_hz: float | None = None
    zero_phase: bool = True
    envelope: str = "adaptive"
    near_heart: bool | None = None  # None: on when ECG contamination is found
    calibration: Any = None  # dsp.calibration.Calibration, a dict, or JSON text; None: from the sidecar
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


def analyze_file(path: str | Path, settings: AnalysisSettings | None = None, *, progress: bool = False,
                 **overrides: Any) -> dict[str, Any]:
    """Read and analyse one file; the JSON dict (picklable: for process pools and Dask)."""
    from emg.readers import read_recording

    s = settings or AnalysisSettings()
    s = AnalysisSettings(**{**{k: getattr(s, k) for k in s.__dataclass_fields__}, **overrides, "keep_signals": False})
    rec = read_recording(path, s.fs_hz, units=s.units)
    return analyze_recording(rec, s, progress=progress).to_dict()


def _analyze_file_safe(path: str, settings_dict: dict[str, Any]) -> dict[str, Any]:
    """Worker entry: errors become ``{"path", "error"}`` so one bad file does not stop a batch."""
    from emg.errors import EmgError
    from dsp.errors import SignalError

    try:
        return analyze_file(path, AnalysisSettings(**settings_dict))
    except (EmgError, SignalError) as err:
        return {"schema": SCHEMA, "path": str(path), "error": str(err)}
    except Exception as err:  # noqa: BLE001 - one broken file must not stop a batch of thousands
        log.exception("analysis of %s failed", path)
        return {"schema": SCHEMA, "path": str(path),
                "error": f"unexpected {type(err).__name__}: {err} (analyse this file alone with --debug)"}


def analyze_many(paths: Iterable[str | Path], settings: AnalysisSettings | None = None, *,
                 scheduler: str | None = None, workers: int | None = None, progress: bool = False
                 ) -> list[dict[str, Any]]:
    """Analyse many files; results in input order (a failed file gives ``{"path", "error"}``).

    Local processes by default (``workers`` defaults to the CPU count); ``scheduler`` is a Dask
    scheduler address (``tcp://127.0.0.1:8786``) to run on a cluster instead.
    """
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
    return [r if r is not None else {"path": p, "error": "not analysed"} for r, p in zip(results, paths)]


def _run_dask(paths: list[str], sd: dict[str, Any], scheduler: str, bar: Any) -> list[dict[str, Any]]:
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        client = Client(scheduler, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({err}); check the address "
                          "or drop --scheduler to use local processes") from None
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


def analyze_recording(rec: Recording, settings: AnalysisSettings | None = None, *,
                      progress: bool = False) -> Analysis:
    """Analyse ``rec`` (see the module docstring); raises RecordingError when nothing can be analysed."""
    s = settings or AnalysisSettings()
    fs = float(rec.fs_hz)
    if fs < 100:
        raise RecordingError(f"sampling rate {fs:g} Hz is too low for surface EMG (needs >= 100 Hz); "
                             "check the file's rate or give the right one with --fs")
    idx = select_channels(rec, s.channels)
    raw = np.asarray(rec.data_uv[idx], dtype=np.float64)
    names = [rec.channel_names[i] for i in idx]
    muscles = [rec.muscles[i] if i < len(rec.muscles) else "" for i in idx]
    n = raw.shape[1]
    if n < int(fs):
        raise RecordingError(f"the recording is {n / fs:.2f} s long; at least 1 s is needed to analyse it "
                             "(it is truncated or was stopped at once)")
    bar = _progress_bar(6, "steps", progress)
    timings: dict[str, float] = {"_t": time.perf_counter()}

    # ---- per-channel signal checks on the raw data (before any filtering)
    nan_mask = ~np.isfinite(raw)
    nan_counts = nan_mask.sum(axis=1)
    clean = _fill_nonfinite(raw, nan_mask)
    rail_uv = _rail_uv(rec)
    basic = [_basic_checks(clean[c], nan_counts[c], n, rail_uv, raw_has_all_nan=nan_counts[c] == n)
             for c in range(len(idx))]
    usable = [b["status"] in ("ok", "railed-partly") for b in basic]
    _lap(timings, "checks")
    bar.update(1)

    # ---- mains and ECG decide the filter set-up
    spectra = _spectra(clean, fs)
    mains_hz, mains_source = _choose_mains(rec, spectra, usable, s.mains_hz, fs)
    ecg = _ecg_checks(clean, fs, usable)
    if s.near_heart is None:
        near_heart = any(e and e["contaminated"] for e in ecg)
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
    padded, pad = edge_pad(work, fs, _edge_lines(fs, mains_hz))
    if s.zero_phase:
        proc = dspa.emg_process(padded, fs, mains_hz=mains_hz, near_heart=near_heart, zero_phase=True,
                                envelope=s.envelope)
        det_in = proc.filtered_uv  # the detector reuses the zero-phase filtering (no second pass)
        proc.filtered_uv = np.ascontiguousarray(proc.filtered_uv[:, pad:pad + n])
        proc.envelope_uv = np.ascontiguousarray(proc.envelope_uv[:, pad:pad + n])
    else:
        # causal: the raw samples exactly as the live pipeline received them (it holds NaNs itself)
        proc = dspa.emg_process(raw, fs, mains_hz=mains_hz, near_heart=near_heart, zero_phase=False,
                                envelope=s.envelope)
        det_in = None
    _lap(timings, "filter_envelope")
    bar.update(1)
    # detection is always on the zero-phase (offline) filtering, whatever the display mode
    rows_ok = [c for c in range(len(idx)) if usable[c]]
    if det_in is not None and getattr(proc, "from_dsp", False):
        det = dspa.detect_activations(det_in[rows_ok], fs, mains_hz=mains_hz, near_heart=near_heart,
                                      zero_phase=True, prefiltered=True) if rows_ok else []
    else:
        det = dspa.detect_activations(padded[rows_ok], fs, mains_hz=mains_hz, near_heart=near_heart,
                                      zero_phase=True) if rows_ok else []
    if rows_ok and dspa.notch_frequencies(fs, mains_hz, near_heart):
        det = _sharpen_onsets(det, padded[rows_ok], fs, mains_hz, near_heart)
    det = [_unpad_activations(ch, pad / fs, n / fs) for ch in det]
    acts: list[list[dspa.Activation]] = [[] for _ in idx]
    j = 0
    for c in range(len(idx)):
        if usable[c]:
            acts[c] = det[j]
            j += 1
    _lap(timings, "detection")
    bar.update(1)

    # ---- calibration (% of reference) when known
    cal = _load_calibration(s.calibration if s.calibration is not None else rec.meta.get("calibration"))
    cal_map = _calibration_map(cal, names, idx)
    pct = None
    if cal_map:
        pct = np.full_like(proc.envelope_uv, np.nan)
        for c, (floor, ref) in cal_map.items():
            pct[c] = 100.0 * (proc.envelope_uv[c] - floor) / (ref - floor)

    # ---- per-channel summaries
    qflags = dspa.quality_flags(raw, fs, rail_uv=rail_uv)
    notch = proc.notch_hz
    channels_out = []
    for c in range(len(idx)):
        q = dict(basic[c]["quality"])
        q.update(_mains_share(spectra, c, mains_hz, fs))
        q["ecg"] = ecg[c] or {"contaminated": False, "heart_rate_bpm": None, "score": None}
        if qflags is not None:
            q["spike_count"] = int(qflags["spike_count"][c])
            q["lead_off_fraction"] = _r(float(qflags["lead_off_fraction"][c]), 6)
            q["flagged_fraction"] = _r(float(qflags["flagged_fraction"][c]), 6)
        status = basic[c]["status"]
        reason = basic[c]["reason"]
        ch_acts = acts[c]
        rest_mask = _rest_mask(n, fs, ch_acts)
        floor_rms = float(np.sqrt(np.mean(proc.filtered_uv[c][rest_mask] ** 2))) if rest_mask.any() else None
        floor_env = float(np.median(proc.envelope_uv[c][rest_mask])) if rest_mask.any() else None
        activations = []
        for a in ch_acts:
            # amplitudes from the analysis envelope: the same method (and, causal, the same numbers) as
            # the live view and the calibration, so % of reference compares like with like
            s0, s1 = int(a.onset_s * fs), max(int(a.onset_s * fs) + 1, int(a.offset_s * fs))
            seg = proc.envelope_uv[c][s0:s1]
            peak, level = float(seg.max()), float(seg.mean())
            item = {"onset_s": _r(a.onset_s), "offset_s": _r(a.offset_s), "duration_s": _r(a.offset_s - a.onset_s),
                    "peak": _r(peak), "mean": _r(level)}
            if c in cal_map:
                floor, ref = cal_map[c]
                item["peak_pct"] = _r(100.0 * (peak - floor) / (ref - floor))
                item["mean_pct"] = _r(100.0 * (level - floor) / (ref - floor))
            ratio = level / floor_env if floor_env and floor_env > 0 else None
            item["ratio_to_rest"] = _r(ratio, 2)
            item["confident"] = bool(ratio is not None and ratio >= CONFIDENT_RATIO)
            activations.append(item)
        if status == "ok" and not activations:
            reason = "no contraction above the rest noise floor"
        fat = (_fatigue(_spectral_track(proc.filtered_uv[c], fs, ch_acts), fs, ch_acts) if usable[c]
               else _no_fatigue("channel not usable"))
        channels_out.append({
            "index": int(idx[c]),
            "name": names[c],
            "muscle": muscles[c] or None,
            "status": status,
            "reason": reason,
            "n_activations": len(activations),
            "n_confident": int(sum(1 for a in activations if a["confident"])),
            "activations": activations,
            "noise_floor": _r(floor_rms) if usable[c] else None,
            "noise_floor_envelope": _r(floor_env) if usable[c] else None,
            "calibration": ({"rest_floor": _r(cal_map[c][0]), "reference": _r(cal_map[c][1])}
                            if c in cal_map else None),
            "quality": _jsonable(q),
            "fatigue": fat,
        })
    _lap(timings, "channels_quality_fatigue")
    bar.update(1)

    # ---- across channels
    cocon = _cocontraction(proc.envelope_uv, acts, names, usable, fs)
    sym = _symmetry(proc.envelope_uv, names, muscles, usable, acts, fs)
    reps, drill = _drill_reps(rec, idx, acts, pct, fs, names)
    if drill is not None and isinstance(rec.meta.get("drill"), dict):
        drill["replay"] = _replay_drill(rec, cal, reps, mains_hz, near_heart)
    _lap(timings, "cross_channel_reps")
    bar.update(1)
    bar.close()

    rec_quality = _recording_quality(rec, fs)
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
        "duration_s": _r(n / fs),
        "n_samples": int(n),
        "units": units,
        "settings": {
            "mode": "zero-phase" if s.zero_phase else "causal",
            "mains_hz": mains_hz,
            "mains_source": mains_source,
            "filters": proc.description,
            "band_hz": [float(proc.band_hz[0]), float(proc.band_hz[1])],
            "notch_hz": [float(f) for f in notch],
            "envelope": s.envelope,
            "near_heart": near_heart,
            "near_heart_reason": near_heart_reason,
            "calibration": (cal_source(s, rec) if cal_map else None),
            "channels": names,
            "implementation": dspa.implementation(),
        },
        "quality": rec_quality,
        "channels": channels_out,
        "cocontraction": cocon,
        "symmetry": sym,
        "reps": reps,
        "drill": drill,
    }
    summary = _jsonable(summary)
    if not any(usable):
        summary["error"] = "no usable channel: " + "; ".join(f"{ch['name']}: {ch['reason']}" for ch in channels_out)
    res = Analysis(summary=summary, recording=rec, channel_index=list(idx))
    timings.pop("_t")
    res.timings_s = timings
    if s.keep_signals:
        res.filtered_uv = proc.filtered_uv
        res.envelope_uv = proc.envelope_uv
        res.pct = pct
    return res


def _lap(timings: dict[str, float], name: str) -> None:
    now = time.perf_counter()
    timings[name] = round(now - timings["_t"], 4)
    timings["_t"] = now


def cal_source(s: AnalysisSettings, rec: Recording) -> str:
    return "option" if s.calibration is not None else "recording sidecar"


# =========================================================================== channel selection


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
                raise ConfigError(f"unknown channel {tok!r}: this recording has {', '.join(rec.channel_names)} "
                                  f"(or numbers 1-{rec.n_channels})")
    return list(dict.fromkeys(out))


# =========================================================================== checks


def _fill_nonfinite(raw: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replace NaN/inf by linear interpolation of the neighbours (whole-NaN channels -> 0)."""
    if not mask.any():
        return raw.copy()
    out = raw.copy()
    for c in np.flatnonzero(mask.any(axis=1)):
        good = ~mask[c]
        if not good.any():
            out[c] = 0.0
            continue
        x = np.arange(raw.shape[1])
        out[c, ~good] = np.interp(x[~good], x[good], raw[c, good])
    return out


def _rail_uv(rec: Recording) -> float | None:
    if isinstance(rec.meta.get("rail_uv"), (int, float)) and rec.meta["rail_uv"] > 0:
        return float(rec.meta["rail_uv"])
    gains = rec.meta.get("gains")
    name = str(rec.meta.get("board_name", "")).lower()
    if "cyton" in name or rec.meta.get("board_id") in (0, 2):
        g = float(gains[0]) if isinstance(gains, list) and gains else 24.0
        return CYTON_RAIL_UV_GAIN24 * 24.0 / g
    return None


def _basic_checks(x: np.ndarray, nan_count: int, n: int, rail_uv: float | None, raw_has_all_nan: bool
                  ) -> dict[str, Any]:
    """Flat / disconnected / railed / NaN checks on one raw channel."""
    q: dict[str, Any] = {"nan_samples": int(nan_count), "nan_fraction": _r(nan_count / n, 6)}
    lo, hi = float(np.min(x)), float(np.max(x))
    ptp = hi - lo
    diffs = np.diff(x)
    still = float(np.mean(diffs == 0)) if diffs.size else 1.0
    q["peak_to_peak"] = _r(ptp)
    q["flat"] = bool(raw_has_all_nan or ptp == 0.0 or still > 0.98)
    # railed: samples at the board's rail, or pinned at the extremes for long runs
    if rail_uv:
        at_rail = np.abs(x) >= 0.999 * rail_uv
    else:
        at_rail = ((x == hi) | (x == lo)) if ptp > 0 else np.zeros_like(x, dtype=bool)
        if at_rail.mean() < RAILED_FRACTION or not _long_runs(at_rail, max(8, n // 1000)):
            at_rail = np.zeros_like(at_rail)
    q["railed_fraction"] = _r(float(at_rail.mean()), 6)
    q["railed"] = bool(q["railed_fraction"] >= RAILED_FRACTION)
    q["disconnected"] = bool(q["flat"] or q["railed_fraction"] > 0.5)
    if raw_has_all_nan:
        return {"status": "no-data", "reason": "every sample is NaN/inf: the channel carried no data", "quality": q}
    if q["flat"]:
        val = float(np.median(x))
        why = (f"flat channel (all samples {val:g}): electrode not connected or channel unused" if ptp == 0
               else f"flat channel ({still:.0%} of samples unchanged): electrode not connected or channel unused")
        return {"status": "flat", "reason": why, "quality": q}
    if q["railed_fraction"] > 0.5:
        return {"status": "disconnected",
                "reason": f"railed for {q['railed_fraction']:.0%} of the recording: lead off or electrode not "
                          "touching the skin", "quality": q}
    if nan_count > 0.5 * n:
        return {"status": "no-data", "reason": f"{nan_count / n:.0%} of the samples are NaN/inf", "quality": q}
    if q["railed"]:
        return {"status": "railed-partly", "reason": f"railed for {q['railed_fraction']:.1%} of the recording "
                "(those spells may hide activations)", "quality": q}
    return {"status": "ok", "reason": "", "quality": q}


def edge_pad(x: np.ndarray, fs: float, lines_hz: Sequence[float], pad_s: float = 1.0, fit_s: float = 2.0
             ) -> tuple[np.ndarray, int]:
    """Extend (C, n) by ``pad_s`` at both ends; returns (extended, pad samples).

    Each end's first/last ``fit_s`` is fitted (least squares) with DC, a linear drift and a sinusoid at
    every mains line in ``lines_hz``; the pad is that model continued outside the file plus the
    odd-reflected residual. Zero-phase filters started on the pad settle before the real data, so
    strong mains or a DC step at the edges cannot produce a start-up transient inside the file.
    """
    n = x.shape[1]
    p = min(int(round(pad_s * fs)), n - 1)
    m = min(int(round(fit_s * fs)), n)
    if p < 1:
        return x, 0

    def model(t: np.ndarray, freqs: Sequence[float]) -> np.ndarray:
        cols = [np.ones_like(t), t]
        for f in freqs:
            cols += [np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)]
        return np.stack(cols, axis=1)

    t_left = np.arange(m) / fs
    f_left = _refine_lines(x[:, :m], t_left, lines_hz)
    coef_l, *_ = np.linalg.lstsq(model(t_left, f_left), x[:, :m].T, rcond=None)
    res_l = x[:, :m] - (model(t_left, f_left) @ coef_l).T
    left = (model(-np.arange(p, 0, -1) / fs, f_left) @ coef_l).T + (2 * res_l[:, :1] - res_l[:, p:0:-1])
    t_right = np.arange(-m + 1, 1) / fs
    f_right = _refine_lines(x[:, -m:], t_right, lines_hz)
    coef_r, *_ = np.linalg.lstsq(model(t_right, f_right), x[:, -m:].T, rcond=None)
    res_r = x[:, -m:] - (model(t_right, f_right) @ coef_r).T
    right = (model(np.arange(1, p + 1) / fs, f_right) @ coef_r).T + (2 * res_r[:, -1:] - res_r[:, -2:-p - 2:-1])
    return np.ascontiguousarray(np.concatenate([left, x, right], axis=1)), p


def _edge_lines(fs: float, mains_hz: float | None, harmonics: int = 6) -> list[float]:
    """Mains and its first harmonics as they appear at this rate (folded about Nyquist), for edge_pad."""
    if not mains_hz:
        return []
    out: list[float] = []
    for k in range(1, harmonics + 1):
        f = (k * mains_hz) % fs
        f = fs - f if f > fs / 2 else f
        if 1.0 < f < fs / 2 - 1.0 and all(abs(f - g) > 1.0 for g in out):
            out.append(float(f))
    return sorted(out)


def _refine_lines(x: np.ndarray, t: np.ndarray, lines_hz: Sequence[float], span_hz: float = 0.3,
                  step_hz: float = 0.005) -> list[float]:
    """Each mains line's actual frequency near its nominal one (the grid drifts by a few 0.01 Hz):
    the peak of the Hann-windowed power summed over channels, on a fine grid within +-``span_hz``."""
    if not lines_hz:
        return []
    xc = (x - x.mean(axis=1, keepdims=True)) * np.hanning(t.size)
    deltas = np.arange(-span_hz, span_hz + step_hz / 2, step_hz)
    out = []
    for f in lines_hz:
        basis = np.exp(-2j * np.pi * np.outer(f + deltas, t))  # (D, m)
        power = (np.abs(xc @ basis.T) ** 2).sum(axis=0)  # (D,)
        out.append(float(f + deltas[int(np.argmax(power))]))
    return out


def _sharpen_onsets(det: list[list[dspa.Activation]], x_padded: np.ndarray, fs: float, mains_hz: float | None,
                    near_heart: bool) -> list[list[dspa.Activation]]:
    """Onsets free of the notch filters' pre-ringing.

    A zero-phase notch rings before a strong onset (the backward pass carries the ringing earlier in
    time), so dsp's offline detector places onsets 60-220 ms early on strong contractions whenever mains
    notches are on. dsp.detection is run a second time on the same signal with the band-pass zero-phase
    but the notches applied forward only (they ring after, not before, an onset); each activation keeps
    its span from the first run and takes its onset from an activation of the second run that starts
    inside it. Returns ``det`` with those onsets (same activations, same offsets)."""
    try:
        from dsp.design import design_filters
        from dsp.filters import sosfiltfilt
    except ImportError:
        return det
    full = design_filters(fs, mains_hz=mains_hz, near_heart=near_heart)
    k = len(full.notch_hz)
    if k == 0:
        return det
    band, notch = full.sos[:-k], full.sos[-k:]
    y = sosfiltfilt(x_padded, band)
    zi = sps.sosfilt_zi(notch)[:, None, :] * y[None, :, :1]  # steady state on the first (padded) sample
    y, _ = sps.sosfilt(notch, y, axis=-1, zi=zi)
    fwd = dspa.detect_activations(y, fs, mains_hz=None, near_heart=near_heart, zero_phase=True, prefiltered=True)
    out = []
    for acts, early in zip(det, fwd):
        starts = np.array([a.onset_s for a in early])
        new = []
        for a in acts:
            inside = starts[(starts >= a.onset_s) & (starts < a.offset_s)] if starts.size else starts
            on = float(inside.min()) if inside.size else a.onset_s
            new.append(dspa.Activation(on, a.offset_s, a.peak_uv, a.mean_uv))
        out.append(new)
    return out


def _unpad_activations(acts: list[dspa.Activation], pad_s: float, dur_s: float) -> list[dspa.Activation]:
    """Shift activations found on an edge-padded signal back; drop those wholly in the pads, clip the rest."""
    out = []
    for a in acts:
        on, off = a.onset_s - pad_s, a.offset_s - pad_s
        if off <= 0 or on >= dur_s:
            continue
        clipped_on, clipped_off = max(0.0, on), min(dur_s, off)
        if (clipped_on, clipped_off) != (on, off) and clipped_off - clipped_on < EDGE_MIN_S:
            continue  # a sliver at the file's edge, mostly in the pad: not a contraction we can report
        out.append(dspa.Activation(clipped_on, clipped_off, a.peak_uv, a.mean_uv))
    return out


def _long_runs(mask: np.ndarray, min_len: int) -> bool:
    idx = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return bool(np.any(idx[1::2] - idx[0::2] >= min_len)) if idx.size else False


def _spectra(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectra (f (m,), p (C, m)) at 0.25 Hz resolution, mean removed per segment."""
    nper = int(min(x.shape[1], round(4 * fs)))
    n_seg = x.shape[1] // nper
    if n_seg > 64:  # long recordings: non-overlapping Hann segments in one batched FFT (Welch, 0 % overlap)
        seg = x[:, : n_seg * nper].reshape(x.shape[0], n_seg, nper)
        if n_seg > SPECTRUM_MAX_SEGMENTS:
            seg = seg[:, np.linspace(0, n_seg - 1, SPECTRUM_MAX_SEGMENTS).astype(np.int64)]
        seg = seg - seg.mean(axis=2, keepdims=True)
        win = np.hanning(nper)
        p = (np.abs(np.fft.rfft(seg * win, axis=2)) ** 2).mean(axis=1) / (fs * np.sum(win ** 2))
        p[:, 1:-1] *= 2.0
        return np.fft.rfftfreq(nper, 1.0 / fs), p
    f, p = sps.welch(x, fs=fs, nperseg=nper, detrend="constant", axis=-1)
    return f, p


def _choose_mains(rec: Recording, spectra: tuple[np.ndarray, np.ndarray], usable: list[bool],
                  option: float | None, fs: float) -> tuple[float | None, str]:
    if option is not None:
        return (float(option) if option else None), ("option" if option else "option (no notches)")
    filt = rec.meta.get("filters")
    if isinstance(filt, dict) and filt.get("mains_hz"):
        return float(filt["mains_hz"]), "recording"
    if rec.meta.get("mains_hz"):
        return float(rec.meta["mains_hz"]), "recording"
    f, p_all = spectra
    rows = [c for c in range(p_all.shape[0]) if usable[c]] or list(range(p_all.shape[0]))
    score = {}
    for mains in (50.0, 60.0):
        # line-to-neighbourhood power ratio at the fundamental and 2 harmonics (or their aliases),
        # per channel; the channel where it stands out most decides (EMG can hide it elsewhere)
        tot = np.zeros(len(rows))
        for k in (1, 2, 3):
            fk = (k * mains) % fs
            fk = fs - fk if fk > fs / 2 else fk
            if fk < 1 or fk > fs / 2 - 1:
                continue
            line = p_all[rows][:, (f >= fk - 0.75) & (f <= fk + 0.75)].mean(axis=1)
            near = np.median(p_all[rows][:, ((f >= fk - 6) & (f <= fk - 2)) | ((f >= fk + 2) & (f <= fk + 6))], axis=1)
            tot += np.where(near > 0, line / np.where(near > 0, near, 1.0), 0.0)
        score[mains] = float(tot.max())
    best = max(score, key=score.get)
    other = 110.0 - best
    if score[best] > 3.0 * max(score[other], 1.0) or score[best] > 20.0:
        return best, "detected"
    # no line in the data: no notch (a zero-phase notch rings before strong onsets and moves them early)
    return None, "none found in the data"


def _mains_share(spectra: tuple[np.ndarray, np.ndarray], c: int, mains_hz: float | None, fs: float) -> dict:
    """Share of the raw power (above 1 Hz) within +-1 Hz of the mains lines; without a known mains
    frequency, the larger of the 50 Hz and 60 Hz shares."""
    f, p = spectra
    pc = p[c]
    keep = f >= 1.0
    total = float(pc[keep].sum())
    if total <= 0:
        return {"mains_share": None, "mains_lines_hz": []}
    best: dict[str, Any] = {"mains_share": -1.0}
    for mains in ([mains_hz] if mains_hz else [50.0, 60.0]):
        lines = dspa.mains_notches_hz(fs, mains, (1.0, fs / 2 - 1))
        m = np.zeros_like(f, dtype=bool)
        for fl in lines:
            m |= (f >= fl - 1.0) & (f <= fl + 1.0)
        share = float(pc[m & keep].sum()) / total
        if share > best["mains_share"]:
            best = {"mains_share": share, "mains_lines_hz": lines}
    best["mains_share"] = _r(best["mains_share"], 4)
    return best


def _ecg_checks(x: np.ndarray, fs: float, usable: list[bool]) -> list[dict[str, Any] | None]:
    """ECG check of every usable channel of ``x`` (C, n); None for the others."""
    rows = [c for c in range(x.shape[0]) if usable[c]]
    out: list[dict[str, Any] | None] = [None] * x.shape[0]
    if not rows:
        return out
    hi = min(35.0, 0.45 * fs)
    sos = sps.butter(2, (5.0, hi), btype="bandpass", fs=fs, output="sos")
    block = int(ECG_BLOCK_S * fs)
    n_blocks = x.shape[1] // block
    if n_blocks > ECG_BLOCKS:  # long recording: the heart beats all along, 5 spread-out minutes tell
        starts = np.linspace(0, x.shape[1] - block, ECG_BLOCKS).astype(np.int64)
        y = np.concatenate([sps.sosfiltfilt(sos, x[rows, s0:s0 + block], axis=-1) for s0 in starts], axis=1)
    else:
        y = sps.sosfiltfilt(sos, x[rows], axis=-1)
    for k, c in enumerate(rows):
        out[c] = _ecg_check(y[k], fs)
    return out


def _ecg_check(y: np.ndarray, fs: float) -> dict[str, Any]:
    """Regular QRS-like spikes in ``y`` (one channel, already 5-35 Hz band-passed): autocorrelation of
    its envelope at 40-180 bpm, confirmed at twice the lag."""
    from scipy.ndimage import median_filter

    step = max(1, int(fs // 50))
    e = np.abs(y)
    n50 = e.size // step
    e = e[: n50 * step].reshape(n50, step).mean(axis=1)  # 50 Hz envelope
    fs_e = fs / step
    if e.size < 5 * fs_e:
        return {"contaminated": False, "heart_rate_bpm": None, "score": None}
    # the QRS envelope is spiky: clip the tallest (movement) peaks so they do not dominate
    e = np.minimum(e, np.percentile(e, 99))
    e = e - median_filter(e, size=int(fs_e) | 1, mode="nearest")
    e = e - e.mean()
    nfft = 1 << int(np.ceil(np.log2(2 * e.size)))
    spec = np.fft.rfft(e, nfft)
    ac = np.fft.irfft(spec * np.conj(spec), nfft)[: e.size]
    if ac[0] <= 0:
        return {"contaminated": False, "heart_rate_bpm": None, "score": None}
    ac = ac / ac[0]
    lo, hi_lag = int(fs_e * 60 / 180), int(fs_e * 60 / 40)
    seg = ac[lo:hi_lag]
    k = int(np.argmax(seg)) + lo
    score = float(ac[k])
    # a true heart rhythm repeats: it also shows, nearly as strongly, at twice and three times the lag
    k2, k3 = 2 * k, 3 * k
    second = float(ac[k2 - 2:k2 + 3].max()) if k2 + 3 < ac.size else 0.0
    third = float(ac[k3 - 2:k3 + 3].max()) if k3 + 3 < ac.size else 0.0
    contaminated = score >= ECG_AUTOCORR_MIN and second >= 0.7 * score and third >= 0.5 * score
    return {"contaminated": bool(contaminated), "heart_rate_bpm": _r(60.0 * fs_e / k, 1) if contaminated else None,
            "score": _r(score, 3)}


def _recording_quality(rec: Recording, fs: float) -> dict[str, Any]:
    out: dict[str, Any] = {"dropped_packets": None, "dropped_fraction": None, "timestamp_rate_hz": None,
                           "flags": []}
    pk = rec.package_num
    if pk is not None and pk.size > 1 and np.all(np.isfinite(pk)):
        pk = pk.astype(np.int64)
        mod = int(pk.max()) + 1
        step = np.diff(pk) % mod if mod > 1 else np.zeros(pk.size - 1, dtype=np.int64)
        gaps = step[step != 1]
        lost = int(np.sum((gaps - 1) % mod)) if gaps.size else 0
        out["dropped_packets"] = lost
        out["dropped_fraction"] = _r(lost / (lost + pk.size), 6)
        if lost:
            out["flags"].append(f"{lost} dropped packet(s) (package counter gaps)")
    ts = rec.timestamps
    if ts is not None and ts.size > 10 and np.all(np.isfinite(ts)):
        span = float(ts[-1] - ts[0])
        if span > 0:
            rate = (ts.size - 1) / span
            out["timestamp_rate_hz"] = _r(rate, 3)
            if abs(rate - fs) > 0.05 * fs:
                out["flags"].append(f"timestamps give {rate:.1f} Hz but the file says {fs:g} Hz: "
                                    "the stated rate (or the sidecar) disagrees with the data")
    return out


# =========================================================================== rest, fatigue


def _rest_mask(n: int, fs: float, acts: list[dspa.Activation]) -> np.ndarray:
    """Samples at rest: away from every activation (with 0.25 s margins) and from the file's edges."""
    m = np.ones(n, dtype=bool)
    edge = min(int(0.5 * fs), n // 10)
    m[:edge] = False
    m[n - edge:] = False
    pad = int(0.25 * fs)
    for a in acts:
        m[max(0, int(a.onset_s * fs) - pad): min(n, int(a.offset_s * fs) + pad)] = False
    return m


def _no_fatigue(reason: str) -> dict[str, Any]:
    return {"contractions": [], "median_frequency_slope_hz_per_s": None, "fatigue_index_pct_per_s": None,
            "median_frequency_trend_hz_per_min": None, "reason": reason}


def _spectral_track(x: np.ndarray, fs: float, acts: list[dspa.Activation]) -> tuple[np.ndarray, np.ndarray]:
    """(window centres s, median frequency Hz) of one channel, only where it is active.

    The active spans are joined end to end and passed to dsp in one call; windows that straddle a
    join are dropped and the others mapped back to recording time."""
    w = int(round(SPECTRAL_WINDOW_S * fs))
    step = int(round(SPECTRAL_STEP_S * fs))
    spans = [(int(a.onset_s * fs), int(a.offset_s * fs)) for a in acts]
    spans = [(s0, s1) for s0, s1 in spans if s1 - s0 >= w]
    if not spans:
        return np.empty(0), np.empty(0)
    joined = np.concatenate([x[s0:s1] for s0, s1 in spans])[None, :]
    t_c, mdf = dspa.median_frequency_tracks(joined, fs, SPECTRAL_WINDOW_S, SPECTRAL_STEP_S)
    mdf = mdf[0]
    starts = np.round(t_c * fs - w / 2).astype(np.int64)  # window starts in the joined signal
    seg_len = np.array([s1 - s0 for s0, s1 in spans])
    seg_off = np.concatenate([[0], np.cumsum(seg_len)])
    k = np.searchsorted(seg_off, starts, side="right") - 1
    inside = (k >= 0) & (k < len(spans)) & (starts + w <= seg_off[np.clip(k + 1, 0, len(spans))])
    orig0 = np.array([s0 for s0, _ in spans])
    centres = (orig0[k[inside]] + (starts[inside] - seg_off[k[inside]]) + w / 2) / fs
    return centres, mdf[inside]


def _fatigue(track: tuple[np.ndarray, np.ndarray], fs: float, acts: list[dspa.Activation]) -> dict[str, Any]:
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
        rows.append({"onset_s": _r(a.onset_s), "duration_s": _r(a.offset_s - a.onset_s),
                     "median_frequency_start_hz": _r(start, 2), "median_frequency_end_hz": _r(float(icpt + slope * t_mid[good][-1]), 2),
                     "slope_hz_per_s": _r(float(slope), 4),
                     "slope_pct_per_s": _r(float(100.0 * slope / start), 4) if start > 0 else None})
    trend = None
    if len(all_mdf) >= 3:
        tt, mm = np.array(all_mdf).T
        if np.ptp(tt) > 0:
            trend = _r(float(np.polyfit(tt, mm, 1)[0] * 60.0), 3)
    if not rows:
        out = _no_fatigue(f"no contraction of {SUSTAINED_MIN_S:g} s or longer")
        out["median_frequency_trend_hz_per_min"] = trend
        out["contraction_median_frequency_hz"] = [[_r(t), _r(m, 2)] for t, m in all_mdf]
        return out
    slopes = [r["slope_hz_per_s"] for r in rows]
    pcts = [r["slope_pct_per_s"] for r in rows if r["slope_pct_per_s"] is not None]
    return {"contractions": rows, "median_frequency_slope_hz_per_s": _r(float(np.median(slopes)), 4),
            "fatigue_index_pct_per_s": _r(float(np.median(pcts)), 4) if pcts else None,
            "median_frequency_trend_hz_per_min": trend,
            "contraction_median_frequency_hz": [[_r(t), _r(m, 2)] for t, m in all_mdf], "reason": ""}


# =========================================================================== across channels


def _active_mask(n: int, fs: float, acts: list[dspa.Activation]) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for a in acts:
        m[int(a.onset_s * fs): int(a.offset_s * fs)] = True
    return m


def _cocontraction(env: np.ndarray, acts: list[list[dspa.Activation]], names: list[str], usable: list[bool],
                   fs: float) -> list[dict[str, Any]]:
    """Co-contraction index (%) for each pair of active channels, over the time either is active."""
    active = [c for c in range(env.shape[0]) if usable[c] and acts[c]][:8]
    out = []
    for i, a in enumerate(active):
        for b in active[i + 1:]:
            m = _active_mask(env.shape[1], fs, acts[a]) | _active_mask(env.shape[1], fs, acts[b])
            if not m.any():
                continue
            ea, eb = env[a][m], env[b][m]
            # normalise each channel to its own peak so different gains compare
            na, nb = np.percentile(ea, 99), np.percentile(eb, 99)
            if na <= 0 or nb <= 0:
                continue
            out.append({"channels": [names[a], names[b]],
                        "index_pct": _r(dspa.cocontraction_index(ea / na, eb / nb), 2),
                        "overlap_s": _r(float((_active_mask(env.shape[1], fs, acts[a])
                                               & _active_mask(env.shape[1], fs, acts[b])).sum() / fs))})
    return out


_SIDES = (("left", "right"), ("l_", "r_"), ("_l", "_r"), ("l ", "r "), (" l", " r"), ("links", "rechts"))


def _symmetry(env: np.ndarray, names: list[str], muscles: list[str], usable: list[bool],
              acts: list[list[dspa.Activation]], fs: float) -> list[dict[str, Any]]:
    """Left/right symmetry index (%) for channel pairs whose names or muscles differ only by side."""
    labels = [(m or nm).lower() for nm, m in zip(names, muscles)]
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
                    out.append({"left": names[i], "right": names[j],
                                "index_pct": _r(dspa.symmetry_index(float(env[i][m].mean()), float(env[j][m].mean())), 2),
                                "left_mean": _r(float(env[i][m].mean())),
                                "right_mean": _r(float(env[j][m].mean()))})
                    break
    return out


# =========================================================================== drills


def _drill_reps(rec: Recording, idx: list[int], acts: list[list[dspa.Activation]], pct: np.ndarray | None,
                fs: float, names: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
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
        ch_board = (cue_contract.data or {}).get("channel", r["start"].get("channel", 0)) if cue_contract else \
            r["start"].get("channel", 0)
        c = row_of.get(int(ch_board or 0))
        band = (cue_contract.data or {}).get("band_pct") if cue_contract else r["start"].get("band_pct")
        recorded = {k: v for k, v in end.items() if k not in ("set", "rep")}
        item: dict[str, Any] = {"set": r["set"], "rep": r["rep"], "start_s": _r(r["start_s"]),
                                "end_s": _r(r["end_s"]), "cue_s": _r(t_cue),
                                "channel": names[c] if c is not None else None, "band_pct": band,
                                "result": end.get("result", r.get("outcome")),
                                "success": (end.get("result") == "success") if "result" in end
                                else r.get("outcome") == "success",
                                "recorded": _jsonable(recorded)}
        if c is not None:
            onset = next((a for a in acts[c] if t_cue - 0.2 <= a.onset_s <= r["end_s"]), None)
            item["onset_s"] = _r(onset.onset_s) if onset else None
            item["reaction_time_s"] = _r(onset.onset_s - t_cue) if onset else None
            if pct is not None and band and len(band) == 2:
                item.update(_band_metrics(pct[c], fs, t_cue, r["end_s"], band,
                                          cue_relax.time_s if cue_relax else None))
        out.append(item)
    drill: dict[str, Any] = {"name": (drill_start.data or {}).get("name") if drill_start else None,
                             "kind": (drill_start.data or {}).get("kind") if drill_start else None,
                             "reps_attempted": len(out),
                             "reps_succeeded": int(sum(1 for x in out if x["success"])),
                             "summary": (drill_end.data or {}).get("summary") if drill_end else None}
    drill["success_rate"] = _r(drill["reps_succeeded"] / len(out), 4) if out else None
    return out, _jsonable(drill)


def _replay_drill(rec: Recording, cal: Any, reps: list[dict[str, Any]], mains_hz: float | None, near_heart: bool
                  ) -> dict[str, Any]:
    """Re-run the recorded drill (sidecar ``drill``) over the causal activation, as live, and compare.

    Uses :func:`feedback.replay.replay_drill` with the recording's calibration and filter settings
    (sidecar ``filters``, else the analysis settings); returns ``{reps_attempted, reps_succeeded,
    results, agrees_with_recorded}`` or ``{error}`` when the drill cannot be replayed."""
    try:
        from dsp.calibration import Calibration
        from dsp.pipeline import emg_process
        from feedback.drill_config import config_from_dict
        from feedback.replay import actions_from_events, replay_drill
    except ImportError as err:
        return {"error": f"drill replay unavailable ({err})"}
    if cal is None:
        return {"error": "no calibration in the recording: the drill cannot be replayed in % of reference"}
    try:
        calib = cal if isinstance(cal, Calibration) else Calibration.from_dict(cal)
        config = config_from_dict(rec.meta["drill"])
        filt = rec.meta.get("filters") if isinstance(rec.meta.get("filters"), dict) else {}
        live_mains = filt.get("mains_hz", mains_hz)
        live_heart = bool(filt.get("near_heart", near_heart))
        names = list(calib.channel_names or rec.channel_names)
        rows = [rec.channel_names.index(nm) if nm in rec.channel_names else k for k, nm in enumerate(names)]
        _, env = emg_process(rec.data_uv[rows], rec.fs_hz, mains_hz=live_mains, near_heart=live_heart,
                             envelope=calib.envelope, zero_phase=False)
        pct = calib.activation_pct(env)
        first = next((e for e in rec.events if e.label == "drill_start"), rec.events[0] if rec.events else None)
        t0 = (first.time_s - first.sample / rec.fs_hz) if first is not None else 0.0
        events, summary = replay_drill(config, pct, fs_hz=rec.fs_hz, channel_names=names, t0_s=t0,
                                       actions=actions_from_events(
                                           [{"label": e.label, "time_s": e.time_s, "data": e.data} for e in rec.events]),
                                       stop_at_end=True)
    except Exception as err:  # noqa: BLE001 - a replay problem must not stop the analysis; it is reported
        return {"error": f"drill could not be replayed: {type(err).__name__}: {err}"}
    ends = [e.data for e in events if e.label == "rep_end"]
    results = [d.get("result") for d in ends]
    recorded = [r.get("result") for r in reps]
    return _jsonable({"reps_attempted": len(ends), "reps_succeeded": sum(1 for r in results if r == "success"),
                      "results": results, "agrees_with_recorded": results == recorded,
                      "reps": ends})


def _band_metrics(p: np.ndarray, fs: float, t0: float, t1: float, band: Sequence[float], t_relax: float | None
                  ) -> dict[str, Any]:
    """Offline time to band, time in band, steadiness (CV %) and time to relax from the % envelope."""
    lo, hi = float(band[0]), float(band[1])
    s0, s1 = max(0, int(t0 * fs)), min(p.size, int(t1 * fs))
    seg = p[s0:s1]
    inb = (seg >= lo) & (seg <= hi)
    out: dict[str, Any] = {}
    first = int(np.argmax(inb)) if inb.any() else None
    out["time_to_band_s"] = _r(first / fs) if first is not None else None
    out["time_in_band_s"] = _r(float(inb.sum() / fs))
    hold = seg[inb]
    out["steadiness_cv_pct"] = _r(float(100.0 * hold.std() / hold.mean()), 2) if hold.size > 2 and hold.mean() > 0 else None
    out["peak_pct"] = _r(float(np.nanmax(seg))) if seg.size else None
    if t_relax is not None:
        r0 = int(t_relax * fs)
        tail = p[r0: min(p.size, r0 + int(10 * fs))]
        below = np.flatnonzero(tail < max(5.0, 0.1 * lo))
        out["time_to_relax_s"] = _r(below[0] / fs) if below.size else None
    return out


# =========================================================================== calibration


def _load_calibration(cal: Any) -> Any:
    if cal is None or cal == {}:
        return None
    if isinstance(cal, (str, Path)) and not str(cal).lstrip().startswith("{"):
        p = Path(cal)
        if not p.is_file():
            raise ConfigError(f"calibration file not found: {p} (check the path)")
        cal = p.read_text(encoding="utf-8")
    if isinstance(cal, str):
        try:
            from dsp.calibration import Calibration

            return Calibration.from_json(cal)
        except ImportError:
            pass
        except Exception as err:  # noqa: BLE001 - any parse failure is a user-fixable file problem
            raise ConfigError(f"calibration is not readable ({err}); re-run the calibration") from None
        try:
            return json.loads(cal)
        except ValueError:
            raise ConfigError("calibration is not valid JSON; re-run the calibration") from None
    return cal


def _calibration_map(cal: Any, names: list[str], idx: list[int]) -> dict[int, tuple[float, float]]:
    """Analysed row -> (rest_floor, reference) in envelope units, matched by channel name, else position."""
    if cal is None:
        return {}
    get = (lambda k: cal.get(k)) if isinstance(cal, dict) else (lambda k: getattr(cal, k, None))
    floor = get("rest_floor_uv")
    ref = get("reference_uv")
    if floor is None or ref is None:
        return {}
    floor = np.atleast_1d(np.asarray(floor, dtype=np.float64))
    ref = np.atleast_1d(np.asarray(ref, dtype=np.float64))
    cal_names = list(get("channel_names") or [])
    out = {}
    for c, (nm, orig) in enumerate(zip(names, idx)):
        k = cal_names.index(nm) if nm in cal_names else (orig if orig < floor.size else None)
        if k is None or k >= ref.size:
            continue
        if ref[k] > floor[k]:
            out[c] = (float(floor[k]), float(ref[k]))
    return out


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


def _r(x: Any, nd: int = 4) -> Any:
    """Round for JSON: times to ``nd`` decimals, but never below 6 significant digits (tiny units)."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    if x != 0.0 and abs(x) < 10.0 ** (2 - nd):
        return float(f"{x:.6g}")
    return round(x, nd)


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, Path):
        return str(v)
    return str(v)
