"""Small test-signal generator: Gaussian-noise EMG bursts shaped by a known envelope on a noise floor.

For tests and benchmarks of the signal core only (the full simulated patient lives in
``emg.simulation``). Arrays are channels x samples, float64, microvolts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


@dataclass
class Bursts:
    """A generated recording: ``x_uv`` (C, n), its true amplitude envelope ``envelope_uv`` (C, n) of the
    burst component, and per channel the list of (onset_s, offset_s) where the envelope leaves / returns to 0."""

    x_uv: np.ndarray
    envelope_uv: np.ndarray
    truth: list[list[tuple[float, float]]]
    fs_hz: float
    floor_rms_uv: float
    burst_rms_uv: float


def band_noise(
    rng: np.random.Generator, shape: tuple[int, int], fs_hz: float, band_hz: tuple[float, float] = (20.0, 150.0)
) -> np.ndarray:
    """Unit-RMS Gaussian noise band-limited to ``band_hz`` (an sEMG-like spectrum), shape (C, n)."""
    hi = min(band_hz[1], 0.45 * fs_hz)
    sos = signal.butter(2, [band_hz[0], hi], btype="bandpass", output="sos", fs=fs_hz)
    w = signal.sosfilt(sos, rng.standard_normal((shape[0], shape[1] + int(fs_hz))), axis=1)[:, int(fs_hz) :]
    return w / np.sqrt(np.mean(w * w, axis=1, keepdims=True))


def contractions(
    fs_hz: float,
    duration_s: float,
    *,
    n_channels: int = 1,
    floor_rms_uv: float = 5.0,
    snr: float = 3.0,
    on_s: tuple[float, float] = (1.0, 3.0),
    off_s: tuple[float, float] = (1.5, 4.0),
    ramp_s: float = 0.02,
    start_s: float = 1.0,
    dc_uv: float = 0.0,
    seed: int = 0,
) -> Bursts:
    """Bursts at ``snr`` x the floor RMS (burst component RMS = snr * floor_rms_uv) with random on/off
    durations, raised-cosine ramps of ``ramp_s``; white Gaussian floor; optional DC offset.
    Onset = where the burst envelope starts rising, offset = where it has fallen back to 0."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs_hz))
    env = np.zeros((n_channels, n))
    truth: list[list[tuple[float, float]]] = []
    ramp = max(1, int(round(ramp_s * fs_hz)))
    up = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp, endpoint=False))
    for c in range(n_channels):
        t = start_s + rng.uniform(0, 0.5)
        events = []
        while True:
            on = rng.uniform(*on_s)
            if t + on + 0.5 > duration_s:
                break
            i0 = int(round(t * fs_hz))
            i1 = int(round((t + on) * fs_hz))
            env[c, i0:i1] = 1.0
            env[c, i0 : i0 + ramp] = up
            env[c, i1 - ramp : i1] = up[::-1]
            events.append((i0 / fs_hz, i1 / fs_hz))
            t += on + rng.uniform(*off_s)
        truth.append(events)
    burst = band_noise(rng, (n_channels, n), fs_hz) * env * (snr * floor_rms_uv)
    floor = rng.standard_normal((n_channels, n)) * floor_rms_uv
    x = burst + floor + dc_uv
    return Bursts(
        x_uv=x,
        envelope_uv=env * snr * floor_rms_uv,
        truth=truth,
        fs_hz=float(fs_hz),
        floor_rms_uv=floor_rms_uv,
        burst_rms_uv=snr * floor_rms_uv,
    )


@dataclass
class StepResponse:
    """Envelope behaviour on repeated rest -> contraction steps: ``rise_ms`` (10-90 % rise time of the
    ensemble-averaged envelope), ``delay50_ms`` (onset to 50 %), ``steady_cv`` (mean over bursts of
    SD / mean within the plateau), ``fall_ms`` (90-10 % fall time)."""

    rise_ms: float
    delay50_ms: float
    fall_ms: float
    steady_cv: float


def step_train(
    fs_hz: float,
    *,
    n_steps: int = 30,
    on_s: float = 2.0,
    off_s: float = 2.0,
    floor_rms_uv: float = 5.0,
    snr: float = 5.0,
    n_channels: int = 1,
    seed: int = 0,
) -> Bursts:
    """Contractions switched on and off instantly (1-sample ramps), ``n_steps`` times, for envelope timing."""
    return contractions(
        fs_hz,
        1.0 + n_steps * (on_s + off_s) + 0.5,
        n_channels=n_channels,
        floor_rms_uv=floor_rms_uv,
        snr=snr,
        on_s=(on_s, on_s),
        off_s=(off_s, off_s),
        ramp_s=0.0,
        start_s=1.0,
        seed=seed,
    )


def step_response(env_uv: np.ndarray, bursts: Bursts, *, channel: int = 0) -> StepResponse:
    """Measure :class:`StepResponse` of an envelope (C, n) computed from ``bursts.x_uv``."""
    fs = bursts.fs_hz
    e = np.asarray(env_uv, dtype=np.float64)[channel]
    events = bursts.truth[channel]
    on_len = int(round(min(off - on for on, off in events) * fs))
    pre = int(round(0.8 * fs))
    segs_on = []
    segs_off = []
    cvs = []
    for on, off in events:
        i0 = int(round(on * fs))
        i1 = int(round(off * fs))
        if i0 - pre < 0 or i1 + pre > e.shape[0]:
            continue
        segs_on.append(e[i0 - pre : i0 + on_len])
        segs_off.append(e[i1 - pre : i1 + pre])
        plateau = e[i0 + int(0.5 * on_len) : i0 + int(0.95 * on_len)]
        cvs.append(plateau.std() / plateau.mean())
    avg_on = np.mean(segs_on, axis=0)
    avg_off = np.mean(segs_off, axis=0)
    lo = avg_on[int(0.1 * pre) : int(0.9 * pre)].mean()
    hi = avg_on[pre + int(0.5 * on_len) : pre + int(0.95 * on_len)].mean()

    def first_cross(seg, level, rising, start):
        idx = np.flatnonzero(seg[start:] >= level) if rising else np.flatnonzero(seg[start:] <= level)
        if idx.size == 0:
            return float("nan")
        k = start + int(idx[0])
        a, b = seg[k - 1], seg[k]
        return (k - 1 + (level - a) / (b - a)) if b != a else float(k)

    t10 = first_cross(avg_on, lo + 0.1 * (hi - lo), True, pre)
    t50 = first_cross(avg_on, lo + 0.5 * (hi - lo), True, pre)
    t90 = first_cross(avg_on, lo + 0.9 * (hi - lo), True, pre)
    f90 = first_cross(avg_off, lo + 0.9 * (hi - lo), False, pre)
    f10 = first_cross(avg_off, lo + 0.1 * (hi - lo), False, pre)
    return StepResponse(
        rise_ms=1000 * (t90 - t10) / fs,
        delay50_ms=1000 * (t50 - pre) / fs,
        fall_ms=1000 * (f10 - f90) / fs,
        steady_cv=float(np.mean(cvs)),
    )
