"""Interop benchmark (``emg bench export``): export speed (BDF+/EDF+/BIDS) and LSL push cost and latency.

The reference for the writers is pyedflib's own ``EdfWriter.writeSamples`` on the same data and ranges (it
truncates to integers; ours rounds, at most half a step off). LSL runs loopback-only (see docs/INTEROP.md):
push cost in a tight loop, then push -> inlet latency at the real rate. Nothing is asserted.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from emg.recordings.recording import Recording


def _recording(minutes: float, n_ch: int, fs: float) -> Recording:
    from emg.recordings.recording import Event, Recording

    n = int(minutes * 60 * fs)
    rng = np.random.default_rng(0)
    data = rng.normal(0, 30, (n_ch, n))
    events = [
        Event(label="rep_start", sample=int(s), time_s=s / fs, data={"rep": i})
        for i, s in enumerate(range(0, n, int(10 * fs)))
    ]
    return Recording(
        data_uv=data,
        fs_hz=fs,
        channel_names=[f"ch{i + 1}" for i in range(n_ch)],
        muscles=["vastus medialis L"] * n_ch,
        events=events,
        meta={"board_name": "cyton", "gains": [24] * n_ch, "start_time": "2026-01-01T10:00:00+00:00"},
    )


def bench_export(minutes: float, n_ch: int, fs: float) -> dict[str, Any]:
    """Write and read back BDF+ and EDF+, time pyedflib's writer on the same data, write BIDS-EMG; seconds,
    MB, M samples/s and the largest error in uV."""
    from emg.export import export_bids, write_edf
    from emg.export.edf import read_back

    rec = _recording(minutes, n_ch, fs)
    out: dict[str, Any] = {"minutes": minutes, "channels": n_ch, "fs_hz": fs}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("bdf", "edf"):
            path = Path(tmp) / f"b.{fmt}"
            t = time.perf_counter()
            res = write_edf(rec, path, fmt=fmt)
            dt = time.perf_counter() - t
            t = time.perf_counter()
            data = read_back(path)[0]
            dr = time.perf_counter() - t
            out[fmt] = {
                "write_s": dt,
                "msamples_per_s": rec.data_uv.size / dt / 1e6,
                "mb": path.stat().st_size / 1e6,
                "read_back_s": dr,
                "max_error_uv": float(np.abs(data - rec.data_uv).max()),
                "error_bound_uv": max(res.quantum_uv) / 2,
                "annotations": res.n_events,
            }
        out["pyedflib_bdf"] = _bench_pyedflib_baseline(rec, Path(tmp) / "baseline.bdf", res.physical_range_uv)
        out["bdf"]["ratio_vs_pyedflib"] = out["pyedflib_bdf"]["write_s"] / out["bdf"]["write_s"]
        t = time.perf_counter()
        export_bids(rec, Path(tmp) / "ds", subject="B01", session="1", task="bench")
        out["bids_s"] = time.perf_counter() - t
    return out


def _bench_pyedflib_baseline(rec: Recording, path: Path, ranges: list[tuple[float, float]]) -> dict[str, float]:
    """pyedflib's own physical-sample writer on the same data and ranges (it truncates to integers)."""
    import warnings

    import pyedflib

    from emg.export.edf import read_back

    n_ch = rec.data_uv.shape[0]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = pyedflib.EdfWriter(str(path), n_ch, file_type=pyedflib.FILETYPE_BDFPLUS)
        w.setSignalHeaders(
            [
                {
                    "label": f"ch{i + 1}",
                    "dimension": "uV",
                    "sample_frequency": rec.fs_hz,
                    "physical_min": ranges[i][0],
                    "physical_max": ranges[i][1],
                    "digital_min": -8388608,
                    "digital_max": 8388607,
                    "transducer": "",
                    "prefilter": "",
                }
                for i in range(n_ch)
            ]
        )
        w.writeSamples(np.ascontiguousarray(rec.data_uv))
        w.close()
    dt = time.perf_counter() - t
    err = float(np.abs(read_back(path)[0][:, : rec.data_uv.shape[1]] - rec.data_uv).max())
    step = max(hi - lo for lo, hi in ranges) / (2**24 - 1)
    return {"write_s": dt, "max_error_uv": err, "max_error_steps": err / step}


def bench_lsl(n_ch: int, fs: float, seconds: float = 3.0, chunk: int = 10) -> dict[str, Any]:
    """LSL on loopback: push cost in us (tight loop, 2000 pushes each, one inlet connected), then ``seconds``
    of raw pushes of ``chunk`` samples at the real rate: push time in us and push -> inlet latency in ms."""
    from emg.acquire.lsl import LslPublisher, configure_lsl

    config = configure_lsl()
    import pylsl

    pub = LslPublisher(f"bench{int(time.time())}", fs_hz=fs, channel_names=[f"ch{i + 1}" for i in range(n_ch)])
    found = pylsl.resolve_byprop("name", f"{pub.name}-raw", 1, 5.0)
    if not found:
        pub.close()
        raise RuntimeError(f"LSL: our own stream was not found within 5 s ({config}); leave LSL out with --no-lsl")
    inlet = pylsl.StreamInlet(found[0], max_buflen=30)
    inlet.open_stream(timeout=5.0)
    while not pub.have_consumers():
        time.sleep(0.01)
    data = np.random.default_rng(1).normal(0, 30, (n_ch, chunk))
    pct = np.random.default_rng(2).uniform(0, 100, (n_ch, chunk))
    costs = {}
    pushes = (
        ("raw", lambda: pub.push_raw(data)),
        ("activation", lambda: pub.push_activation(pct)),
        ("marker", lambda: pub.push_marker("rep_start", {"set": 1, "rep": 2})),
    )
    for what, fn in pushes:
        t = time.perf_counter()
        for _ in range(2000):
            fn()
        costs[what] = (time.perf_counter() - t) / 2000 * 1e6
    inlet.pull_chunk(timeout=1.0, max_samples=100000)
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
        _, ts = inlet.pull_chunk(timeout=0.5, max_samples=chunk)
        while len(ts) < chunk:
            _, mts = inlet.pull_chunk(timeout=0.5, max_samples=chunk - len(ts))
            if not mts:
                break
            ts = list(ts) + list(mts)
        latency_ms.append((pylsl.local_clock() - sent) * 1e3)
        received += len(ts)
        time.sleep(max(0.0, chunk / fs - (pylsl.local_clock() - sent)))
    pub.close()
    push_us.sort()
    latency_ms.sort()
    return {
        "config": config,
        "channels": n_ch,
        "chunk": chunk,
        "push_cost_us": costs,
        "pushes": n_pushes,
        "push_p50_us": statistics.median(push_us),
        "push_p95_us": push_us[int(0.95 * len(push_us))],
        "latency_p50_ms": statistics.median(latency_ms),
        "latency_p95_ms": latency_ms[int(0.95 * len(latency_ms))],
        "received": received,
        "sent": n_pushes * chunk,
    }


def run_benchmark(
    *, minutes: float = 60.0, n_channels: int = 16, fs_hz: float = 250.0, lsl: bool = True, lsl_seconds: float = 3.0
) -> dict[str, Any]:
    """Export of a ``minutes`` x ``n_channels`` x ``fs_hz`` recording, then (``lsl``) ``lsl_seconds`` of LSL
    (key ``lsl``, None without)."""
    out = bench_export(minutes, n_channels, fs_hz)
    out["lsl"] = bench_lsl(n_channels, fs_hz, seconds=lsl_seconds) if lsl else None
    return out


def summary(res: dict[str, Any]) -> str:
    """The figures of :func:`run_benchmark` for a person."""
    e = res
    out = []
    for fmt in ("bdf", "edf"):
        r = e[fmt]
        out.append(
            f"{fmt.upper()}+ {e['channels']} ch x {e['minutes']:g} min at {e['fs_hz']:g} Hz: write "
            f"{r['write_s']:.2f} s ({r['msamples_per_s']:.1f} M samples/s), {r['mb']:.1f} MB, pyedflib "
            f"read-back {r['read_back_s']:.2f} s, max error {r['max_error_uv']:.2g} uV (bound "
            f"{r['error_bound_uv']:.2g}), {r['annotations']} annotations"
        )
    b = e["pyedflib_bdf"]
    out.append(
        f"  baseline pyedflib EdfWriter.writeSamples (BDF+, same ranges): {b['write_s']:.2f} s, max error "
        f"{b['max_error_uv']:.2g} uV ({b['max_error_steps']:.2f} steps; ours 0.50 at most); "
        f"ours is {e['bdf']['ratio_vs_pyedflib']:.2f}x its speed"
    )
    out.append(f"BIDS-EMG (BDF+ and sidecars): {e['bids_s']:.2f} s")
    lsl = res.get("lsl")
    if lsl:
        c = lsl["push_cost_us"]
        out += [
            lsl["config"],
            f"LSL push cost, {lsl['channels']} ch x {lsl['chunk']} samples, tight loop (one inlet connected): "
            f"raw {c['raw']:.1f} us, activation {c['activation']:.1f} us, marker {c['marker']:.1f} us",
            f"LSL raw outlet at the real rate, {lsl['pushes']} pushes: push p50 {lsl['push_p50_us']:.1f} us, "
            f"p95 {lsl['push_p95_us']:.1f} us; push->inlet latency p50 {lsl['latency_p50_ms']:.2f} ms, "
            f"p95 {lsl['latency_p95_ms']:.2f} ms; received {lsl['received']}/{lsl['sent']}",
        ]
    return "\n".join(out)
