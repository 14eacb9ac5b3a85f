"""Signal-core benchmark (``emg bench``, the default): speed and exactness of the Numba chain against scipy and
BrainFlow, everything in one process on the same data, so the ratios hold on a loaded machine too.

- batch: the whole chain (band-pass + mains notches + rectify + 6 Hz envelope low-pass) over a recording,
  against ``scipy.signal.sosfilt`` (same SOS) and BrainFlow's ``DataFilter``;
- stream: per-call time of the live chain, :meth:`dsp.live.LiveChain.process` (filters + envelope + % of
  reference + quality flags), calibrated, 16 channels at 1 kHz in chunks of 1, 10 and 32 samples, against
  ``sosfilt`` with ``zi`` (filters + envelope) + % of reference on the same chunks;
- exactness: the largest differences from scipy, and between streaming and batch;
- compile: Numba cold and from the on-disk cache (fresh processes);
- envelopes: rise, delay, fall, steady-state variability and the largest 20 ms drop on generated contractions.

:func:`run_benchmark` returns the figures as a dict; :func:`summary` formats them for a person.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

BATCH_CASES = ((8, 250.0), (16, 250.0), (8, 1000.0), (16, 1000.0))
STREAM_CHUNKS = (1, 10, 32)
STREAM_FS_HZ = 1000.0
STREAM_CHANNELS = 16
_WARMUP_CALLS = 200
_BLOCK_CALLS = 1000  # the live chain and scipy take turns every this many calls (a load change hits both)


def machine_load() -> dict[str, Any]:
    """CPU count and 1- and 5-minute load averages."""
    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load1": round(load1, 2), "load5": round(load5, 2)}


def best_times(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Fastest of ``repeats`` runs of each function in seconds, run in turn (a, b, c, a, b, c, ...) so that a
    change in machine load during the run affects all of them alike."""
    best = [float("inf")] * len(fns)
    for _ in range(max(1, repeats)):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def make_signal(n_channels: int, fs_hz: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Noise floor + bursts + DC offsets + mains at 50 Hz and its 3rd harmonic, in uV, (C, n)."""
    from dsp.synth import contractions

    b = contractions(fs_hz, seconds, n_channels=n_channels, snr=5.0, seed=seed, on_s=(1.0, 3.0), off_s=(1.0, 3.0))
    t = np.arange(b.x_uv.shape[1]) / fs_hz
    offsets = np.linspace(-2000.0, 2000.0, n_channels)[:, None]
    mains = 20.0 * np.sin(2 * np.pi * 50.0 * t) + 5.0 * np.sin(2 * np.pi * 150.0 * t)
    return np.ascontiguousarray(b.x_uv + offsets + mains)


def _batch_case(n_ch: int, fs: float, seconds: float, repeats: int) -> tuple[dict[str, Any], float, float]:
    """One batch case: (row, max |ours - scipy| in uV, the same relative to the signal's peak)."""
    from brainflow.data_filter import DataFilter, FilterTypes
    from scipy import signal

    from dsp.design import design_filters, lowpass_sos
    from dsp.envelope import EnvelopeParams
    from dsp.pipeline import emg_process

    x = make_signal(n_ch, fs, seconds)
    design = design_filters(fs, mains_hz=50)
    env_sos = lowpass_sos(6.0, fs)
    params = EnvelopeParams(cutoff_hz=6.0)
    lo, hi = design.band_hz
    butter = FilterTypes.BUTTERWORTH.value

    def ours():
        return emg_process(x, fs, mains_hz=50, envelope="linear", envelope_params=params)

    def scipy_chain():
        zi = signal.sosfilt_zi(design.sos)[:, None, :] * x[:, 0][None, :, None]
        y, _ = signal.sosfilt(design.sos, x, axis=1, zi=zi)
        return y, np.maximum(signal.sosfilt(env_sos, np.abs(y), axis=1), 0.0)

    def brainflow_chain():
        out = x.copy()
        for c in range(n_ch):
            row = out[c]
            DataFilter.perform_bandpass(row, int(fs), lo, hi, 4, butter, 0.0)
            for f in design.notch_hz:
                DataFilter.perform_bandstop(row, int(fs), f - 1.0, f + 1.0, 2, butter, 0.0)
            np.abs(row, out=row)
            DataFilter.perform_lowpass(row, int(fs), 6.0, 2, butter, 0.0)
        return out

    ours()  # warm (threads, caches)
    t_ours, t_scipy, t_bf = best_times((ours, scipy_chain, brainflow_chain), repeats)
    (f_o, e_o), (f_s, e_s) = ours(), scipy_chain()
    diff = max(float(np.max(np.abs(f_o - f_s))), float(np.max(np.abs(e_o - e_s))))
    scale = max(float(np.max(np.abs(f_s))), 1e-300)
    row = {
        "channels": n_ch,
        "fs": fs,
        "seconds": seconds,
        "ratio_vs_scipy": t_scipy / t_ours,
        "ratio_vs_brainflow": t_bf / t_ours,
        "ours_s": t_ours,
        "scipy_s": t_scipy,
        "brainflow_s": t_bf,
        "sections": int(design.sos.shape[0]) + 1,
        "msamples_per_s": n_ch * x.shape[1] / t_ours / 1e6,
    }
    return row, diff, diff / scale


def bench_batch(seconds: float, repeats: int) -> tuple[list[dict[str, Any]], float, float]:
    """Every :data:`BATCH_CASES` over ``seconds`` of signal, fastest of ``repeats``: (rows, max abs diff from
    scipy in uV, max relative diff)."""
    rows, worst_abs, worst_rel = [], 0.0, 0.0
    for n_ch, fs in BATCH_CASES:
        row, diff, rel = _batch_case(n_ch, fs, seconds, repeats)
        rows.append(row)
        worst_abs, worst_rel = max(worst_abs, diff), max(worst_rel, rel)
    return rows, worst_abs, worst_rel


def bench_stream(calls: int, envelope: str = "linear") -> list[dict[str, Any]]:
    """Per-call time of :meth:`dsp.live.LiveChain.process`, calibrated, :data:`STREAM_CHANNELS` channels at
    :data:`STREAM_FS_HZ`, for each of :data:`STREAM_CHUNKS`: median and p99 in us over ``calls`` calls, and the
    median of scipy's ``sosfilt`` with ``zi`` (band-pass + notches, then the 6 Hz linear envelope of the rectified
    signal) + % of reference on the same chunks. scipy has no quality flags and no adaptive envelope: its work
    is the linear chain's minus the flags."""
    from scipy import signal

    from dsp.calibration import Calibration
    from dsp.design import lowpass_sos
    from dsp.live import LiveChain
    from emg.acquire.boards import get_preset

    fs, n_ch = STREAM_FS_HZ, STREAM_CHANNELS
    x = make_signal(n_ch, fs, 2.0 + max(STREAM_CHUNKS) * (calls + _WARMUP_CALLS) / fs * 1.01, seed=1)
    cal = Calibration(
        rest_floor_uv=np.full(n_ch, 2.0),
        rest_sd_uv=np.full(n_ch, 0.5),
        reference_uv=np.full(n_ch, 40.0),
        channel_names=None,
        fs_hz=fs,
        envelope=envelope,
    )
    floor = cal.rest_floor_uv[:, None]
    scale = (100.0 / (cal.reference_uv - cal.rest_floor_uv))[:, None]
    clock = time.perf_counter_ns
    rows = []
    for chunk in STREAM_CHUNKS:
        rail_uv = get_preset("cyton").rail_uv  # a Cyton at its default gain: what the flags check
        chain = LiveChain(fs, n_ch, mains_hz=50, envelope=envelope, rail_uv=rail_uv)
        chain.set_calibration(cal)
        sos = chain.design.sos
        env_sos = lowpass_sos(6.0, fs, order=2)
        zi = np.zeros((sos.shape[0], n_ch, 2))
        ze = np.zeros((env_sos.shape[0], n_ch, 2))
        chunks = [np.ascontiguousarray(x[:, i * chunk : (i + 1) * chunk]) for i in range(calls + _WARMUP_CALLS)]
        ours = np.empty(calls + _WARMUP_CALLS)
        theirs = np.empty(calls + _WARMUP_CALLS)
        # the first _WARMUP_CALLS calls of each are not counted; then the two take turns in blocks
        for b0 in range(0, calls + _WARMUP_CALLS, _BLOCK_CALLS):
            block = range(b0, min(calls + _WARMUP_CALLS, b0 + _BLOCK_CALLS))
            for i in block:
                c = chunks[i]
                t0 = clock()
                chain.process(c)
                ours[i] = clock() - t0
            for i in block:
                c = chunks[i]
                t0 = clock()
                y, zi = signal.sosfilt(sos, c, axis=1, zi=zi)
                e, ze = signal.sosfilt(env_sos, np.abs(y), axis=1, zi=ze)
                _ = (e - floor) * scale
                theirs[i] = clock() - t0
        ours, theirs = ours[_WARMUP_CALLS:], theirs[_WARMUP_CALLS:]
        med = float(np.median(ours)) / 1000
        scipy_med = float(np.median(theirs)) / 1000
        rows.append(
            {
                "channels": n_ch,
                "chunk": chunk,
                "fs": fs,
                "calls": calls,
                "envelope": envelope,
                "median_us": med,
                "p99_us": float(np.percentile(ours, 99)) / 1000,
                "scipy_median_us": scipy_med,
                "ratio_vs_scipy": scipy_med / med,
            }
        )
    return rows


def stream_vs_batch(seconds: float) -> float:
    """Largest |streaming - batch| in uV (filtered signal and envelope) over random chunks of 1-32 samples,
    16 channels at 1 kHz, every envelope."""
    from dsp.pipeline import EmgPipeline, emg_process

    fs = 1000.0
    x = make_signal(16, fs, min(seconds, 60.0), seed=2)
    worst = 0.0
    for envelope in ("linear", "rms", "tkeo", "adaptive"):
        f_b, e_b = emg_process(x, fs, envelope=envelope)
        pipe = EmgPipeline(fs, 16, envelope=envelope)
        rng = np.random.default_rng(5)
        parts_f, parts_e = [], []
        i = 0
        while i < x.shape[1]:
            k = int(rng.integers(1, 33))
            f, e = pipe.process_both(x[:, i : i + k])
            parts_f.append(f)
            parts_e.append(e)
            i += k
        worst = max(
            worst,
            float(np.max(np.abs(np.concatenate(parts_f, axis=1) - f_b))),
            float(np.max(np.abs(np.concatenate(parts_e, axis=1) - e_b))),
        )
    return worst


_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import dsp
from dsp.live import LiveChain
LiveChain(1000.0, 16).process(np.zeros((16, 10)))
t_first = time.perf_counter() - t0
from dsp.detection import OnlineDetector, detect_activations
from dsp.pipeline import emg_process
OnlineDetector(1000.0, np.ones(16), np.ones(16)).update(np.zeros((16, 10)))
detect_activations(np.random.default_rng(0).normal(size=(1, 2000)), 1000.0)
emg_process(np.zeros((2, 1000)), 1000.0)
print(json.dumps({"first_chunk_s": t_first, "everything_s": time.perf_counter() - t0}))
"""


def compile_times() -> dict[str, float]:
    """Numba compile times in seconds, each in a fresh process: cold (empty cache) and warm (from the on-disk
    cache); ``*_first_chunk_s`` is import + the live chain's first chunk."""
    with tempfile.TemporaryDirectory(prefix="emg-bench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = {}
        for label in ("cold", "warm"):
            proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
                raise RuntimeError(f"compile-time child failed: {tail[0]}")
            out[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "cold_compile_all_s": out["cold"]["everything_s"],
        "cold_import_first_chunk_s": out["cold"]["first_chunk_s"],
        "warm_import_first_chunk_s": out["warm"]["first_chunk_s"],
        "warm_everything_s": out["warm"]["everything_s"],
    }


def _hold_drop(env: np.ndarray, bursts: Any) -> float:
    """Largest fall within any 20 ms during the plateaus (0.4 s after onset to offset), relative to the
    plateau's mean: a sudden dip of the bar while the patient holds steady."""
    from numpy.lib.stride_tricks import sliding_window_view

    fs = bursts.fs_hz
    w = max(1, int(round(0.02 * fs)))
    worst = 0.0
    for on, off in bursts.truth[0]:
        seg = env[0, int(round((on + 0.4) * fs)) : int(round(off * fs))]
        win = sliding_window_view(seg, w + 1)
        worst = max(worst, float((win.max(axis=1) - win[:, -1]).max() / seg.mean()))
    return worst


def envelope_figures() -> list[dict[str, Any]]:
    """Each envelope at 1 kHz and 250 Hz on 60 generated rest -> contraction steps (5x the floor RMS): 10-90 %
    rise, 50 % delay and 90-10 % fall in ms, steady-state CV, largest 20 ms drop (fraction of the plateau)."""
    from dsp.envelope import METHODS, emg_amplitude
    from dsp.pipeline import emg_clean
    from dsp.synth import step_response, step_train

    rows = []
    for fs in (1000.0, 250.0):
        b = step_train(fs, n_steps=60, on_s=1.5, off_s=1.5, snr=5.0, seed=3)
        y = emg_clean(b.x_uv, fs)
        for name in METHODS:
            env = emg_amplitude(y, fs, method=name)
            r = step_response(env, b)
            rows.append(
                {
                    "name": name,
                    "fs": fs,
                    "rise_lag_ms": float(r.rise_ms),
                    "steady_cv": float(r.steady_cv),
                    "delay50_ms": float(r.delay50_ms),
                    "fall_ms": float(r.fall_ms),
                    "hold_drop_20ms": _hold_drop(np.asarray(env), b),
                }
            )
    return rows


def run_benchmark(
    *, seconds: float = 600.0, calls: int = 10_000, repeats: int = 5, numba_compile: bool = True
) -> dict[str, Any]:
    """All of the signal-core figures. ``seconds``: batch recording length; ``calls``: streaming calls per
    chunk size; ``repeats``: batch timings per case (the fastest counts); ``numba_compile``: also measure Numba
    compile times (about 30 s)."""
    res: dict[str, Any] = {}
    res["batch"], res["max_abs_diff_vs_scipy"], res["max_rel_diff_vs_scipy"] = bench_batch(seconds, repeats)
    res["stream"] = bench_stream(calls, "linear")
    res["stream_adaptive"] = bench_stream(calls, "adaptive")
    res["stream_vs_batch_max_abs_diff"] = stream_vs_batch(seconds)
    res["compile"] = compile_times() if numba_compile else None
    res["envelopes"] = envelope_figures()
    return res


def summary(res: dict[str, Any]) -> str:
    """The figures of :func:`run_benchmark` as tables for a person."""
    out = [
        "batch, whole chain (band-pass + notches + rectify + 6 Hz envelope), best of repeats",
        f"{'ch':>3} {'fs':>6} {'sec':>5} {'sections':>8} {'ours s':>8} {'scipy s':>8} {'BF s':>8} "
        f"{'x scipy':>8} {'x BF':>6} {'MS/s':>6}",
    ]
    for r in res["batch"]:
        out.append(
            f"{r['channels']:>3} {r['fs']:>6g} {r['seconds']:>5g} {r['sections']:>8} {r['ours_s']:>8.3f} "
            f"{r['scipy_s']:>8.3f} {r['brainflow_s']:>8.3f} {r['ratio_vs_scipy']:>8.2f} "
            f"{r['ratio_vs_brainflow']:>6.1f} {r['msamples_per_s']:>6.1f}"
        )
    out += [
        "",
        f"streaming, {STREAM_CHANNELS} channels at {STREAM_FS_HZ:g} Hz, calibrated, per call: the live chain "
        "dsp.live.LiveChain.process",
        "(filters + envelope + % of reference + quality flags); scipy: sosfilt with zi (filters + 6 Hz linear",
        "envelope) + % of reference on the same chunks, no quality flags",
        f"{'envelope':>8} {'chunk':>5} {'calls':>6} {'median us':>9} {'p99 us':>7} {'scipy us':>8} {'x scipy':>7}",
    ]
    for r in res["stream"] + res.get("stream_adaptive", []):
        out.append(
            f"{r.get('envelope', 'linear'):>8} {r['chunk']:>5} {r['calls']:>6} {r['median_us']:>9.2f} "
            f"{r['p99_us']:>7.2f} {r['scipy_median_us']:>8.1f} {r['ratio_vs_scipy']:>7.1f}"
        )
    if res.get("stream_adaptive"):
        out.append("(adaptive: the live session's default envelope; scipy has none, its column is the linear chain)")
    out += [
        "",
        f"max |ours - scipy| (batch, uV): {res['max_abs_diff_vs_scipy']:.3g} "
        f"(relative {res['max_rel_diff_vs_scipy']:.3g})",
        f"max |stream - batch| (random chunks 1-32, all envelopes, uV): {res['stream_vs_batch_max_abs_diff']:.3g}",
    ]
    c = res.get("compile")
    if c:
        out += [
            "",
            f"Numba: cold compile of everything {c['cold_compile_all_s']:.1f} s; "
            f"import + first live chunk with a warm cache {c['warm_import_first_chunk_s']:.2f} s",
        ]
    out += [
        "",
        "envelopes on generated rest->contraction steps (5x floor RMS, 60 steps)",
        f"{'envelope':>9} {'fs':>6} {'rise 10-90 ms':>13} {'delay 50% ms':>12} {'fall 90-10 ms':>13} "
        f"{'steady CV':>9} {'20 ms drop':>10}",
    ]
    for r in res["envelopes"]:
        out.append(
            f"{r['name']:>9} {r['fs']:>6g} {r['rise_lag_ms']:>13.1f} {r['delay50_ms']:>12.1f} "
            f"{r['fall_ms']:>13.1f} {r['steady_cv']:>9.3f} {r['hold_drop_20ms']:>10.3f}"
        )
    out.append("(20 ms drop: largest fall within any 20 ms during a steady plateau, relative to its mean)")
    return "\n".join(out)
