"""``emg bench``: speed and exactness of the signal core against scipy and BrainFlow, in one run.

Everything is measured in the same process on the same data, so the ratios hold on a loaded machine
too (the machine load is printed with the numbers). Batch: the whole chain (band-pass + mains notches
+ rectify + 6 Hz envelope low-pass) over a recording. Streaming: per-call time of the live chain
(filters + envelope + % of reference) for 16 channels. Exactness: the largest differences from scipy
and between streaming and batch. Compile: Numba cold and from the on-disk cache (fresh processes).
Envelopes: 10-90 % rise time, 50 % delay, 90-10 % fall time, steady-state variability and the largest
20 ms drop during a plateau on the same generated contractions.
"""

from __future__ import annotations

import argparse

BATCH_CASES = ((8, 250.0), (16, 250.0), (8, 1000.0), (16, 1000.0))
STREAM_CHUNKS = (1, 10, 32)
STREAM_FS_HZ = 1000.0
STREAM_CHANNELS = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmark the signal core against scipy and BrainFlow",
        description="Time the Numba signal core against scipy.signal.sosfilt (same SOS) and BrainFlow's "
                    "DataFilter on the same data: batch throughput (8/16 channels at 250 Hz and 1 kHz), "
                    "streaming per-call time (16 channels x 1, 10, 32 samples, median and p99), the largest "
                    "differences from scipy and between streaming and batch, Numba compile time (cold and "
                    "cached), and each envelope's rise time and smoothness on generated contractions. "
                    "Takes one to three minutes.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--seconds", type=float, default=600.0,
                   help="length of the batch test recording in seconds (default 600)")
    p.add_argument("--calls", type=int, default=10_000, help="streaming calls per chunk size (default 10000)")
    p.add_argument("--repeats", type=int, default=5,
                   help="batch timings per case, interleaved; the fastest counts (default 5)")
    p.add_argument("--no-compile", action="store_true", help="skip the cold/warm Numba compile measurement")
    p.add_argument("--analysis", action="store_true",
                   help="also time the offline analysis of a 1-hour 16-channel 250 Hz recording (read + analyse, "
                        "target <= 10 s; adds about 30 s and JSON key 'analysis')")
    p.add_argument("--quick", action="store_true",
                   help="a fast smoke run: 20 s recordings, 2000 calls, 1 repeat, no compile measurement")
    p.set_defaults(func=run)


def _load() -> dict:
    import os

    load1, load5, _ = os.getloadavg()
    return {"cpus": os.cpu_count(), "load1": round(load1, 2), "load5": round(load5, 2)}


def _best_times(fns, repeats: int) -> list[float]:
    """Fastest of ``repeats`` runs of each function, run in turn (a, b, c, a, b, c, ...) so that a change
    in machine load during the run affects all of them alike."""
    import time

    best = [float("inf")] * len(fns)
    for _ in range(max(1, repeats)):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def _test_signal(n_channels: int, fs_hz: float, seconds: float, seed: int = 0):
    """Noise floor + bursts + DC offsets + mains at 50 Hz and its 3rd harmonic (uV), (C, n)."""
    import numpy as np

    from dsp.synth import contractions

    b = contractions(fs_hz, seconds, n_channels=n_channels, snr=5.0, seed=seed, on_s=(1.0, 3.0), off_s=(1.0, 3.0))
    t = np.arange(b.x_uv.shape[1]) / fs_hz
    offsets = np.linspace(-2000.0, 2000.0, n_channels)[:, None]
    mains = 20.0 * np.sin(2 * np.pi * 50.0 * t) + 5.0 * np.sin(2 * np.pi * 150.0 * t)
    return np.ascontiguousarray(b.x_uv + offsets + mains)


def _batch(seconds: float, repeats: int) -> tuple[list[dict], float, float]:
    import numpy as np
    from brainflow.data_filter import DataFilter, FilterTypes
    from scipy import signal

    from dsp.design import design_filters, lowpass_sos
    from dsp.envelope import EnvelopeParams
    from dsp.pipeline import emg_process

    rows = []
    worst_rel = 0.0
    worst_abs = 0.0
    for n_ch, fs in BATCH_CASES:
        x = _test_signal(n_ch, fs, seconds)
        design = design_filters(fs, mains_hz=50)
        env_sos = lowpass_sos(6.0, fs)
        params = EnvelopeParams(cutoff_hz=6.0)

        def ours():
            return emg_process(x, fs, mains_hz=50, envelope="linear", envelope_params=params)

        def scipy_chain():
            zi = signal.sosfilt_zi(design.sos)[:, None, :] * x[:, 0][None, :, None]
            y, _ = signal.sosfilt(design.sos, x, axis=1, zi=zi)
            return y, np.maximum(signal.sosfilt(env_sos, np.abs(y), axis=1), 0.0)

        lo, hi = design.band_hz

        def brainflow_chain():
            out = x.copy()
            for c in range(n_ch):
                row = out[c]
                DataFilter.perform_bandpass(row, int(fs), lo, hi, 4, FilterTypes.BUTTERWORTH.value, 0.0)
                for f in design.notch_hz:
                    DataFilter.perform_bandstop(row, int(fs), f - 1.0, f + 1.0, 2, FilterTypes.BUTTERWORTH.value, 0.0)
                np.abs(row, out=row)
                DataFilter.perform_lowpass(row, int(fs), 6.0, 2, FilterTypes.BUTTERWORTH.value, 0.0)
            return out

        ours()  # warm (threads, caches)
        t_ours, t_scipy, t_bf = _best_times((ours, scipy_chain, brainflow_chain), repeats)
        (f_o, e_o), (f_s, e_s) = ours(), scipy_chain()
        diff = max(float(np.max(np.abs(f_o - f_s))), float(np.max(np.abs(e_o - e_s))))
        scale = max(float(np.max(np.abs(f_s))), 1e-300)
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / scale)
        rows.append({
            "channels": n_ch, "fs": fs, "seconds": seconds,
            "ratio_vs_scipy": t_scipy / t_ours, "ratio_vs_brainflow": t_bf / t_ours,
            "ours_s": t_ours, "scipy_s": t_scipy, "brainflow_s": t_bf,
            "sections": int(design.sos.shape[0]) + 1,
            "msamples_per_s": n_ch * x.shape[1] / t_ours / 1e6,
        })
    return rows, worst_abs, worst_rel


def _stream(calls: int) -> list[dict]:
    import time

    import numpy as np
    from scipy import signal

    from dsp.calibration import Calibration
    from dsp.envelope import EnvelopeParams
    from dsp.pipeline import EmgPipeline

    fs = STREAM_FS_HZ
    n_ch = STREAM_CHANNELS
    rows = []
    x = _test_signal(n_ch, fs, 2.0 + max(STREAM_CHUNKS) * calls / fs * 1.01, seed=1)
    cal = Calibration(rest_floor_uv=np.full(n_ch, 2.0), rest_sd_uv=np.full(n_ch, 0.5),
                      reference_uv=np.full(n_ch, 40.0), channel_names=None, fs_hz=fs, envelope="linear")
    floor = cal.rest_floor_uv[:, None]
    scale = (100.0 / (cal.reference_uv - cal.rest_floor_uv))[:, None]
    clock = time.perf_counter_ns
    for chunk in STREAM_CHUNKS:
        pipe = EmgPipeline(fs, n_ch, mains_hz=50, envelope="linear", envelope_params=EnvelopeParams(cutoff_hz=6.0))
        pipe.set_calibration(cal)
        sos = pipe.design.sos
        env_sos = pipe._chain.esos
        chunks = [np.ascontiguousarray(x[:, i * chunk:(i + 1) * chunk]) for i in range(calls)]
        for c in chunks[:200]:
            pipe.process_pct(c)
        ours = np.empty(calls)
        for i, c in enumerate(chunks):
            t0 = clock()
            pipe.process_pct(c)
            ours[i] = clock() - t0
        zi = np.zeros((sos.shape[0], n_ch, 2))
        ze = np.zeros((env_sos.shape[0], n_ch, 2))
        theirs = np.empty(calls)
        for i, c in enumerate(chunks):
            t0 = clock()
            y, zi = signal.sosfilt(sos, c, axis=1, zi=zi)
            e, ze = signal.sosfilt(env_sos, np.abs(y), axis=1, zi=ze)
            _ = (e - floor) * scale
            theirs[i] = clock() - t0
        med = float(np.median(ours)) / 1000
        rows.append({
            "channels": n_ch, "chunk": chunk, "fs": fs, "calls": calls,
            "median_us": med, "p99_us": float(np.percentile(ours, 99)) / 1000,
            "scipy_median_us": float(np.median(theirs)) / 1000,
            "ratio_vs_scipy": float(np.median(theirs)) / 1000 / med,
        })
    return rows


def _stream_vs_batch(seconds: float) -> float:
    import numpy as np

    from dsp.pipeline import EmgPipeline, emg_process

    fs = 1000.0
    x = _test_signal(16, fs, min(seconds, 60.0), seed=2)
    worst = 0.0
    for envelope in ("linear", "rms", "tkeo", "adaptive"):
        f_b, e_b = emg_process(x, fs, envelope=envelope)
        pipe = EmgPipeline(fs, 16, envelope=envelope)
        rng = np.random.default_rng(5)
        parts_f, parts_e = [], []
        i = 0
        while i < x.shape[1]:
            k = int(rng.integers(1, 33))
            f, e = pipe.process_both(x[:, i:i + k])
            parts_f.append(f)
            parts_e.append(e)
            i += k
        worst = max(worst, float(np.max(np.abs(np.concatenate(parts_f, axis=1) - f_b))),
                    float(np.max(np.abs(np.concatenate(parts_e, axis=1) - e_b))))
    return worst


_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import dsp
from dsp.pipeline import EmgPipeline
pipe = EmgPipeline(1000.0, 16)
pipe.process(np.zeros((16, 10)))
t_first = time.perf_counter() - t0
from dsp.detection import OnlineDetector, detect_activations
from dsp.quality import QualityMonitor
OnlineDetector(1000.0, np.ones(16), np.ones(16)).update(np.zeros((16, 10)))
QualityMonitor(1000.0, 16).update(np.zeros((16, 10)))
detect_activations(np.random.default_rng(0).normal(size=(1, 2000)), 1000.0)
print(json.dumps({"first_chunk_s": t_first, "everything_s": time.perf_counter() - t0}))
"""


def _compile_times() -> dict:
    import json
    import os
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="emg-bench-numba-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = {}
        for label in ("cold", "warm"):
            proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True,
                                  timeout=600)
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


def _envelopes() -> list[dict]:
    from dsp.envelope import METHODS, emg_amplitude
    from dsp.pipeline import emg_clean
    from dsp.synth import step_response, step_train

    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    def hold_drop(env, bursts):
        # largest fall within any 20 ms during the plateaus (0.4 s after onset to offset), relative to
        # the plateau's mean: a sudden dip of the bar while the patient holds steady
        fs = bursts.fs_hz
        w = max(1, int(round(0.02 * fs)))
        worst = 0.0
        for on, off in bursts.truth[0]:
            seg = env[0, int(round((on + 0.4) * fs)): int(round(off * fs))]
            win = sliding_window_view(seg, w + 1)
            worst = max(worst, float((win.max(axis=1) - win[:, -1]).max() / seg.mean()))
        return worst

    rows = []
    for fs in (1000.0, 250.0):
        b = step_train(fs, n_steps=60, on_s=1.5, off_s=1.5, snr=5.0, seed=3)
        y = emg_clean(b.x_uv, fs)
        for name in METHODS:
            env = emg_amplitude(y, fs, method=name)
            r = step_response(env, b)
            rows.append({"name": name, "fs": fs, "rise_lag_ms": float(r.rise_ms), "steady_cv": float(r.steady_cv),
                         "delay50_ms": float(r.delay50_ms), "fall_ms": float(r.fall_ms),
                         "hold_drop_20ms": hold_drop(np.asarray(env), b)})
    return rows


def _print_tables(res: dict) -> None:
    m = res["machine"]
    print(f"machine: {m['cpus']} CPUs, load {m['load1_before']} before / {m['load1_after']} after (1-min average)")
    print("\nbatch, whole chain (band-pass + notches + rectify + 6 Hz envelope), best of repeats")
    print(f"{'ch':>3} {'fs':>6} {'sec':>5} {'sections':>8} {'ours s':>8} {'scipy s':>8} {'BF s':>8} "
          f"{'x scipy':>8} {'x BF':>6} {'MS/s':>6}")
    for r in res["batch"]:
        print(f"{r['channels']:>3} {r['fs']:>6g} {r['seconds']:>5g} {r['sections']:>8} {r['ours_s']:>8.3f} "
              f"{r['scipy_s']:>8.3f} {r['brainflow_s']:>8.3f} {r['ratio_vs_scipy']:>8.2f} "
              f"{r['ratio_vs_brainflow']:>6.1f} {r['msamples_per_s']:>6.1f}")
    print("\nstreaming, 16 channels at 1 kHz: filters + envelope + % of reference per call")
    print(f"{'chunk':>5} {'calls':>6} {'median us':>9} {'p99 us':>7} {'scipy us':>8} {'x scipy':>7}")
    for r in res["stream"]:
        print(f"{r['chunk']:>5} {r['calls']:>6} {r['median_us']:>9.2f} {r['p99_us']:>7.2f} "
              f"{r['scipy_median_us']:>8.1f} {r['ratio_vs_scipy']:>7.1f}")
    print(f"\nmax |ours - scipy| (batch, uV): {res['max_abs_diff_vs_scipy']:.3g} "
          f"(relative {res['max_rel_diff_vs_scipy']:.3g})")
    print(f"max |stream - batch| (random chunks 1-32, all envelopes, uV): {res['stream_vs_batch_max_abs_diff']:.3g}")
    c = res.get("compile")
    if c:
        print(f"\nNumba: cold compile of everything {c['cold_compile_all_s']:.1f} s; "
              f"import + first chunk with a warm cache {c['warm_import_first_chunk_s']:.2f} s")
    print("\nenvelopes on generated rest->contraction steps (5x floor RMS, 60 steps)")
    print(f"{'envelope':>9} {'fs':>6} {'rise 10-90 ms':>13} {'delay 50% ms':>12} {'fall 90-10 ms':>13} "
          f"{'steady CV':>9} {'20 ms drop':>10}")
    for r in res["envelopes"]:
        print(f"{r['name']:>9} {r['fs']:>6g} {r['rise_lag_ms']:>13.1f} {r['delay50_ms']:>12.1f} {r['fall_ms']:>13.1f} "
              f"{r['steady_cv']:>9.3f} {r['hold_drop_20ms']:>10.3f}")
    print("(20 ms drop: largest fall within any 20 ms during a steady plateau, relative to its mean)")


def run(args: argparse.Namespace) -> int:
    import json
    import logging

    from brainflow.board_shim import BoardShim

    from emg.errors import ConfigError

    if not args.seconds >= 5 or args.calls < 100 or args.repeats < 1:  # checked before --quick replaces them
        raise ConfigError("bench needs --seconds >= 5, --calls >= 100 and --repeats >= 1; lower values measure nothing")
    if args.quick:
        args.seconds, args.calls, args.repeats, args.no_compile = 20.0, 2000, 1, True
    BoardShim.disable_board_logger()
    logging.getLogger("numba").setLevel(logging.WARNING)
    before = _load()
    res: dict = {}
    res["batch"], res["max_abs_diff_vs_scipy"], res["max_rel_diff_vs_scipy"] = _batch(args.seconds, args.repeats)
    res["stream"] = _stream(args.calls)
    res["stream_vs_batch_max_abs_diff"] = _stream_vs_batch(args.seconds)
    res["compile"] = None if args.no_compile else _compile_times()
    res["envelopes"] = _envelopes()
    if args.analysis:
        from emg.bench.analysis import run_benchmark

        res["analysis"] = run_benchmark(minutes=60.0, n_channels=16, fs_hz=250.0, report=False)
    after = _load()
    res["machine"] = {"cpus": before["cpus"], "load1_before": before["load1"], "load1_after": after["load1"],
                      "load5_after": after["load5"]}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print_tables(res)
        if args.analysis:
            from emg.bench.analysis import print_summary

            print()
            print_summary(res["analysis"])
    return 0
