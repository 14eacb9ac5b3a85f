"""Generated contractions with known onsets for the analysis tests (not the project's simulator).

Band-limited Gaussian noise shaped by a known envelope (raised-cosine ramps) on a Gaussian noise
floor, optionally with mains lines, ECG-like beats and a DC offset. Everything is (C, n) uV.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal as sps


@dataclass
class Generated:
    x_uv: np.ndarray  # (C, n)
    fs_hz: float
    truth: list[list[tuple[float, float]]]  # per channel (onset_s, offset_s)
    meta: dict = field(default_factory=dict)


def emg_noise(n: int, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise with an EMG-like band (20 Hz to min(250 Hz, 0.45 fs))."""
    hi = min(250.0, 0.45 * fs_hz)
    sos = sps.butter(4, (20.0, hi), btype="bandpass", fs=fs_hz, output="sos")
    y = sps.sosfilt(sos, rng.standard_normal(n + 2000))[2000:]
    return y / np.std(y)


def envelope(
    n: int,
    fs_hz: float,
    spans: list[tuple[float, float]],
    amps: list[float],
    ramp_s: float = 0.03,
    ramp_off_s: float | None = None,
) -> np.ndarray:
    """Activation envelope: raised-cosine ramps up (``ramp_s``) and down (``ramp_off_s``, ends at the offset)."""
    env = np.zeros(n)
    r = max(1, int(ramp_s * fs_hz))
    r_off = max(1, int((ramp_s if ramp_off_s is None else ramp_off_s) * fs_hz))
    up = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, r))
    down = 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, r_off))
    for (on, off), a in zip(spans, amps, strict=False):
        s0, s1 = int(round(on * fs_hz)), int(round(off * fs_hz))
        seg = np.full(s1 - s0, a)
        seg[:r] *= up
        seg[-r_off:] *= down
        env[s0:s1] = np.maximum(env[s0:s1], seg)
    return env


def contractions(
    fs_hz: float,
    duration_s: float,
    *,
    n_contractions: int = 12,
    snr: tuple[float, float] = (3.0, 8.0),
    noise_uv: float = 3.0,
    on_s: tuple[float, float] = (0.8, 2.5),
    mains_hz: float | None = None,
    mains_uv: float = 0.0,
    alias_hz: tuple[float, ...] = (),
    alias_uv: float = 0.0,
    ecg_uv: float = 0.0,
    heart_bpm: float = 75.0,
    dc_uv: float = 0.0,
    seed: int = 1,
    n_channels: int = 1,
    fatigue_hz_per_s: float = 0.0,
    ramp_off_s: float | None = None,
    gap_s: float = 1.5,
) -> Generated:
    """Contractions at random times (>= 1.5 s apart, none in the first/last 2 s) at ``snr`` x rest RMS."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * fs_hz))
    t = np.arange(n) / fs_hz
    xs, truths = [], []
    for _ in range(n_channels):
        spans: list[tuple[float, float]] = []
        cursor = 2.0
        slot = (duration_s - 4.0) / max(1, n_contractions)
        for k in range(n_contractions):
            dur = float(rng.uniform(*on_s))
            lo = 2.0 + k * slot
            hi = lo + slot - dur - gap_s
            if hi <= lo:
                break
            on = float(rng.uniform(max(lo, cursor), hi)) if hi > max(lo, cursor) else max(lo, cursor)
            spans.append((round(on, 3), round(on + dur, 3)))
            cursor = on + dur + gap_s
        amps = list(rng.uniform(*snr, size=len(spans)) * noise_uv)
        env = envelope(n, fs_hz, spans, amps, ramp_off_s=ramp_off_s)
        emg = emg_noise(n, fs_hz, rng)
        if fatigue_hz_per_s:
            emg = _fatigued(n, fs_hz, spans, fatigue_hz_per_s, rng, emg)
        x = env * emg + noise_uv * rng.standard_normal(n)
        if mains_hz:
            x += mains_uv * np.sin(2 * np.pi * mains_hz * t + 0.3)
        for f in alias_hz:
            x += alias_uv * np.sin(2 * np.pi * f * t + 1.1)
        if ecg_uv:
            x += ecg(t, fs_hz, heart_bpm, ecg_uv, rng)
        x += dc_uv
        xs.append(x)
        truths.append(spans)
    return Generated(np.vstack(xs), fs_hz, truths)


def ecg(t: np.ndarray, fs_hz: float, heart_bpm: float, amp_uv: float, rng: np.random.Generator) -> np.ndarray:
    """QRS-like biphasic spikes (about 80 ms) at a slightly variable heart rate."""
    rr = 60.0 / heart_bpm
    beats = []
    b = 0.3
    while b < t[-1]:
        beats.append(b)
        b += rr * float(rng.uniform(0.95, 1.05))
    out = np.zeros_like(t)
    w = int(0.08 * fs_hz)
    k = np.arange(-w, w + 1) / fs_hz
    qrs = -k / 0.012 * np.exp(-0.5 * (k / 0.012) ** 2) * 1.6
    for bt in beats:
        i = int(bt * fs_hz)
        s0, s1 = max(0, i - w), min(t.size, i + w + 1)
        out[s0:s1] += amp_uv * qrs[s0 - (i - w) : s1 - (i - w)]
    return out


def _fatigued(
    n: int, fs_hz: float, spans: list[tuple[float, float]], hz_per_s: float, rng: np.random.Generator, base: np.ndarray
) -> np.ndarray:
    """Replace each contraction's noise by noise whose spectrum slides down at ``hz_per_s`` (centre 90 Hz)."""
    out = base.copy()
    for on, off in spans:
        s0, s1 = int(on * fs_hz), int(off * fs_hz)
        seg = np.zeros(s1 - s0)
        win = int(0.25 * fs_hz)
        for a in range(0, s1 - s0, win):
            tc = a / fs_hz
            centre = max(40.0, 90.0 + hz_per_s * tc)
            lo, hi = max(15.0, centre * 0.5), min(0.45 * fs_hz, centre * 1.6)
            sos = sps.butter(3, (lo, hi), btype="bandpass", fs=fs_hz, output="sos")
            y = sps.sosfilt(sos, rng.standard_normal(win + 600))[600:]
            seg[a : a + win] = (y / np.std(y))[: len(seg[a : a + win])]
        out[s0:s1] = seg
    return out


def match(
    found: list[tuple[float, float]], truth: list[tuple[float, float]], tol_s: float = 0.3
) -> tuple[int, int, list[float]]:
    """(hits, false activations, onset errors in s): a found activation overlapping a true one is a hit."""
    errors, hits, used = [], 0, set()
    false = 0
    for on, off in found:
        k = next((i for i, (a, b) in enumerate(truth) if on < b + tol_s and off > a - tol_s and i not in used), None)
        if k is None:
            # a second piece of an already matched contraction is not a false activation
            if not any(on < b and off > a for a, b in truth):
                false += 1
            continue
        used.add(k)
        hits += 1
        errors.append(on - truth[k][0])
    return hits, false, errors


def write_project_recording(
    path: Path,
    x_uv: np.ndarray,
    fs_hz: float,
    *,
    channel_names: list[str] | None = None,
    muscles: list[str] | None = None,
    events: list[dict] | None = None,
    extra_meta: dict | None = None,
    board_id: int = 0,
) -> Path:
    """Write ``x_uv`` in the project's format with the foundation's RecordingWriter (Cyton row layout)."""
    from emg.recordings.writer import RecordingWriter

    n_rows = 24
    c, n = x_uv.shape
    rows = np.zeros((n_rows, n))
    rows[0] = np.arange(n) % 256
    rows[1 : 1 + c] = x_uv
    rows[22] = 1.7e9 + np.arange(n) / fs_hz
    meta = {
        "board_id": board_id,
        "board_name": "cyton",
        "sampling_rate": fs_hz,
        "num_rows": n_rows,
        "exg_rows": list(range(1, 1 + c)),
        "accel_rows": [9, 10, 11],
        "timestamp_row": 22,
        "marker_row": 23,
        "package_num_row": 0,
        "channel_names": channel_names or [f"ch{i + 1}" for i in range(c)],
        "muscles": muscles or [],
        "gains": [24] * c,
    }
    meta.update(extra_meta or {})
    with RecordingWriter(path, meta, overwrite=True, fsync=False) as w:
        w.write(rows)
        for e in events or []:
            w.add_event(e["label"], int(round(e["time_s"] * fs_hz)), e["time_s"], e.get("data") or {})
    return Path(path).with_suffix(".csv")


def dumps(obj: object) -> str:
    return json.dumps(obj)


def write_drill_session(
    path: Path,
    *,
    snr: float,
    successes: list[bool],
    relax_s: float,
    start_time: str,
    patient: str = "P01",
    muscle: str = "quadriceps L",
    fs_hz: float = 250.0,
    seed: int = 0,
    fatigue_hz_per_s: float = 0.0,
) -> Path:
    """A reach-and-hold session: one channel, len(successes) reps of 3 s at ``snr`` x rest, the relax cue at
    the start of a ``relax_s`` ramp down, recorded drill events and a calibration (floor 3, reference 23 uV)."""
    from dsp.calibration import Calibration

    n_reps = len(successes)
    g = contractions(
        fs_hz,
        12.0 * n_reps + 6.0,
        n_contractions=n_reps,
        on_s=(3.0 + relax_s, 3.0 + relax_s),
        snr=(snr, snr),
        seed=seed,
        ramp_off_s=relax_s,
        gap_s=4.0,
        fatigue_hz_per_s=fatigue_hz_per_s,
    )
    events = [{"label": "drill_start", "time_s": 0.5, "data": {"kind": "reach_hold", "name": "quads"}}]
    for k, ((on, off), ok) in enumerate(zip(g.truth[0], successes, strict=False), 1):
        result = "success" if ok else "failure"
        events += [
            {"label": "rep_start", "time_s": on - 0.5, "data": {"set": 1, "rep": k}},
            {
                "label": "cue",
                "time_s": on - 0.3,
                "data": {"phase": "contract", "channel": 0, "band_pct": [30, 70], "target_pct": 50},
            },
            {"label": "cue", "time_s": off - relax_s, "data": {"phase": "relax", "channel": 0}},
            {"label": result, "time_s": off - relax_s, "data": {"set": 1, "rep": k}},
            {"label": "rep_end", "time_s": off + 0.5, "data": {"set": 1, "rep": k, "result": result}},
        ]
    events.append(
        {
            "label": "drill_end",
            "time_s": g.x_uv.shape[1] / fs_hz - 0.5,
            "data": {"summary": {"attempted": n_reps, "succeeded": sum(successes)}},
        }
    )
    cal = Calibration(
        rest_floor_uv=np.array([3.0]),
        rest_sd_uv=np.array([0.5]),
        reference_uv=np.array([23.0]),
        channel_names=["ch1"],
        fs_hz=fs_hz,
        envelope="adaptive",
        kind="submax",
        reference_level_pct=60.0,
        meta={"patient": patient, "muscle": muscle},
    )
    return write_project_recording(
        path,
        g.x_uv,
        fs_hz,
        muscles=[muscle],
        events=events,
        extra_meta={"calibration": json.loads(cal.to_json()), "start_time": start_time, "patient": patient},
    )
