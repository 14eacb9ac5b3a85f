"""Interop benchmark: export speed (BDF+/EDF+/BIDS) and LSL push cost and latency on this machine.

Run: ``python -m emg.bench.export [--minutes 60] [--channels 16] [--fs 250]``. Prints numbers;
asserts nothing. LSL runs loopback-only (see docs/INTEROP.md).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _recording(minutes: float, n_ch: int, fs: float):
    from emg.recordings.recording import Event, Recording

    n = int(minutes * 60 * fs)
    rng = np.random.default_rng(0)
    data = rng.normal(0, 30, (n_ch, n))
    events = [Event(label="rep_start", sample=int(s), time_s=s / fs, data={"rep": i})
              for i, s in enumerate(range(0, n, int(10 * fs)))]
    return Recording(data_uv=data, fs_hz=fs, channel_names=[f"ch{i + 1}" for i in range(n_ch)],
                     muscles=["vastus medialis L"] * n_ch, events=events,
                     meta={"board_name": "cyton", "gains": [24] * n_ch, "start_time": "2026-01-01T10:00:00+00:00"})


def bench_export(minutes: float, n_ch: int, fs: float) -> None:
    from emg.export import export_bids, write_edf
    from emg.export.edf import read_back

    rec = _recording(minutes, n_ch, fs)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("bdf", "edf"):
            t = time.perf_counter()
            res = write_edf(rec, Path(tmp) / f"b.{fmt}", fmt=fmt)
            dt = time.perf_counter() - t
            size = (Path(tmp) / f"b.{fmt}").stat().st_size / 1e6
            t = time.perf_counter()
            data = read_back(Path(tmp) / f"b.{fmt}")[0]
            dr = time.perf_counter() - t
            err = float(np.abs(data - rec.data_uv).max())
            print(f"{fmt.upper()}+ {n_ch} ch x {minutes:g} min at {fs:g} Hz: write {dt:.2f} s "
                  f"({rec.data_uv.size / dt / 1e6:.1f} M samples/s), {size:.1f} MB, pyedflib read-back {dr:.2f} s, "
                  f"max error {err:.2g} uV (bound {max(res.quantum_uv) / 2:.2g}), {res.n_events} annotations")
        _bench_pyedflib_baseline(rec, Path(tmp) / "baseline.bdf", res.physical_range_uv)
        t = time.perf_counter()
        export_bids(rec, Path(tmp) / "ds", subject="B01", session="1", task="bench")
        print(f"BIDS-EMG (BDF+ and sidecars): {time.perf_counter() - t:.2f} s")


def _bench_pyedflib_baseline(rec, path: Path, ranges) -> None:
    """pyedflib's own physical-sample writer on the same data and ranges (it truncates to integers)."""
    import warnings

    import pyedflib

    from emg.export.edf import read_back

    n_ch = rec.data_uv.shape[0]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = pyedflib.EdfWriter(str(path), n_ch, file_type=pyedflib.FILETYPE_BDFPLUS)
        w.setSignalHeaders([{"label": f"ch{i + 1}", "dimension": "uV", "sample_frequency": rec.fs_hz,
                             "physical_min": ranges[i][0], "physical_max": ranges[i][1],
                             "digital_min": -8388608, "digital_max": 8388607, "transducer": "", "prefilter": ""}
                            for i in range(n_ch)])
        w.writeSamples(np.ascontiguousarray(rec.data_uv))
        w.close()
    dt = time.perf_counter() - t
    err = float(np.abs(read_back(path)[0][:, : rec.data_uv.shape[1]] - rec.data_uv).max())
    step = max(hi - lo for lo, hi in ranges) / (2**24 - 1)
    print(f"  baseline pyedflib EdfWriter.writeSamples (BDF+, same ranges): {dt:.2f} s, max error {err:.2g} uV "
          f"({err / step:.2f} steps; ours {0.5:.2f} at most)")


def bench_lsl(n_ch: int, fs: float, seconds: float = 3.0, chunk: int = 10) -> None:
    from emg.acquire.lsl import LslPublisher, configure_lsl

    print(configure_lsl())
    import pylsl

    pub = LslPublisher(f"bench{int(time.time())}", fs_hz=fs, channel_names=[f"ch{i + 1}" for i in range(n_ch)])
    found = pylsl.resolve_byprop("name", f"{pub.name}-raw", 1, 5.0)
    inlet = pylsl.StreamInlet(found[0], max_buflen=30)
    inlet.open_stream(timeout=5.0)
    while not pub.have_consumers():
        time.sleep(0.01)
    data = np.random.default_rng(1).normal(0, 30, (n_ch, chunk))
    pct = np.random.default_rng(2).uniform(0, 100, (n_ch, chunk))
    costs = {}
    for what, fn in (("raw", lambda: pub.push_raw(data)), ("activation", lambda: pub.push_activation(pct)),
                     ("marker", lambda: pub.push_marker("rep_start", {"set": 1, "rep": 2}))):
        t = time.perf_counter()
        for _ in range(2000):
            fn()
        costs[what] = (time.perf_counter() - t) / 2000 * 1e6
    inlet.pull_chunk(timeout=1.0, max_samples=100000)
    print(f"LSL push cost, {n_ch} ch x {chunk} samples, tight loop (one inlet connected): raw "
          f"{costs['raw']:.1f} us, activation {costs['activation']:.1f} us, marker {costs['marker']:.1f} us")
    while inlet.pull_chunk(timeout=0.2, max_samples=100000)[1]:
        pass
    push_us, latency_ms = [], []
    n_pushes = int(seconds * fs / chunk)
    received = 0
    for _ in range(n_pushes):
        t = time.perf_counter()
        pub.push_raw(data)
        push_us.append((time.perf_counter() - t) * 1e6)
        sent = pylsl.local_clock()
        got, ts = inlet.pull_chunk(timeout=0.5, max_samples=chunk)
        while len(ts) < chunk:
            more, mts = inlet.pull_chunk(timeout=0.5, max_samples=chunk - len(ts))
            if not mts:
                break
            ts = list(ts) + list(mts)
        latency_ms.append((pylsl.local_clock() - sent) * 1e3)
        received += len(ts)
        time.sleep(max(0.0, chunk / fs - (pylsl.local_clock() - sent)))
    pub.close()
    push_us.sort()
    latency_ms.sort()
    print(f"LSL raw outlet at the real rate, {n_ch} ch, {chunk} samples per push, {n_pushes} pushes: push p50 "
          f"{statistics.median(push_us):.1f} us, p95 {push_us[int(0.95 * len(push_us))]:.1f} us; "
          f"push->inlet latency p50 {statistics.median(latency_ms):.2f} ms, "
          f"p95 {latency_ms[int(0.95 * len(latency_ms))]:.2f} ms; received {received}/{n_pushes * chunk}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--fs", type=float, default=250.0)
    p.add_argument("--skip-lsl", action="store_true")
    args = p.parse_args(argv)
    bench_export(args.minutes, args.channels, args.fs)
    if not args.skip_lsl:
        bench_lsl(args.channels, args.fs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
