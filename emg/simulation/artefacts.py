"""Artefacts of a surface-EMG recording, each switchable, each logged where it was injected.

Continuous (on for the whole run when enabled):

- ``mains``: 50 or 60 Hz hum with harmonics (``amplitude_uv`` = peak of the fundamental; each
  channel couples with its own gain). Added before the board's decimation, so on a 250 Hz board
  the harmonics alias exactly as on the real board (60 Hz: 180 -> 70 Hz; 50 Hz: 150 -> 100 Hz).
- ``ecg``: heartbeats (P-QRS-T as a sum of Gaussians, ECGSYN-like) with heart-rate variability,
  at each channel's ``ecg_uv`` (trunk muscles) or the artefact's ``amplitude_uv`` on ``channels``.

Events (at ``time_s`` for ``duration_s`` on ``channels``; or drawn at random ``*_per_min``):

- ``motion``: a low-frequency (1-8 Hz) transient of ``amplitude_uv`` and a jolt on the accelerometer;
- ``pop``: an electrode pop, a step of ``amplitude_uv`` decaying with ``decay_s``;
- ``lead_off``: the electrode lead comes off: the input floats, large mains hum and drift;
- ``railing``: the channel sits at the ADC limit (``+rail`` or ``-rail``);
- ``dropped``: ``packets`` samples lost in transmission (rows missing in the recording, the
  package counter jumps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emg.errors import ConfigError
from emg.simulation.params import check_range

EVENT_KINDS = ("motion", "pop", "lead_off", "railing", "dropped")
ALL_KINDS = ("mains", "ecg") + EVENT_KINDS


@dataclass
class MainsConfig:
    enabled: bool = False
    frequency_hz: float = 50.0
    amplitude_uv: float = 3.0
    harmonics: tuple[float, ...] = (1.0, 0.08, 0.3, 0.04, 0.12)  # relative peak of 1st, 2nd, ... harmonic

    def validate(self) -> MainsConfig:
        if float(self.frequency_hz) not in (50.0, 60.0):
            raise ConfigError(f"artefacts.mains.frequency_hz = {self.frequency_hz!r} must be 50 or 60")
        check_range("artefacts.mains.", "amplitude_uv", self.amplitude_uv, 0.0, 1e6)
        for i, h in enumerate(self.harmonics):
            check_range("artefacts.mains.", f"harmonics[{i}]", h, 0.0, 10.0)
        return self


@dataclass
class EcgConfig:
    enabled: bool = False
    heart_rate_bpm: float = 72.0
    hrv_sd_s: float = 0.03
    amplitude_uv: float | None = None  # R-peak; None: each muscle's ecg_uv
    channels: tuple[int, ...] | None = None  # None: channels whose muscle has ecg_uv > 0

    def validate(self) -> EcgConfig:
        check_range("artefacts.ecg.", "heart_rate_bpm", self.heart_rate_bpm, 30.0, 220.0)
        check_range("artefacts.ecg.", "hrv_sd_s", self.hrv_sd_s, 0.0, 0.2)
        if self.amplitude_uv is not None:
            check_range("artefacts.ecg.", "amplitude_uv", self.amplitude_uv, 0.0, 1e5)
        return self


_EVENT_DEFAULTS = {
    "motion": {"duration_s": 0.4, "amplitude_uv": 600.0},
    "pop": {"duration_s": 0.0, "amplitude_uv": 2500.0},
    "lead_off": {"duration_s": 3.0, "amplitude_uv": 5000.0},
    "railing": {"duration_s": 1.0, "amplitude_uv": 0.0},
    "dropped": {"duration_s": 0.0, "amplitude_uv": 0.0},
}


@dataclass
class ArtefactEvent:
    """One injected artefact. ``duration_s`` None: the kind's default; ``packets`` for ``dropped``."""

    kind: str
    time_s: float
    duration_s: float | None = None
    channels: tuple[int, ...] = (0,)
    amplitude_uv: float | None = None
    decay_s: float = 0.15
    packets: int = 5
    level: int = 1  # railing: +1 or -1
    accel_g: float = 0.3  # motion: jolt on the accelerometer

    def validate(self, where: str = "artefacts.events") -> ArtefactEvent:
        if self.kind not in EVENT_KINDS:
            raise ConfigError(f"{where}: unknown artefact kind {self.kind!r}; use one of: {', '.join(EVENT_KINDS)}")
        w = f"{where} ({self.kind}): "
        check_range(w, "time_s", self.time_s, 0.0)
        d = _EVENT_DEFAULTS[self.kind]
        if self.duration_s is None:
            self.duration_s = d["duration_s"]
        check_range(w, "duration_s", self.duration_s, 0.0, 3600.0)
        if self.amplitude_uv is None:
            self.amplitude_uv = d["amplitude_uv"]
        check_range(w, "amplitude_uv", self.amplitude_uv, 0.0, 1e6)
        check_range(w, "decay_s", self.decay_s, 0.001, 10.0)
        if int(self.packets) < 1:
            raise ConfigError(f"{w}packets = {self.packets!r} is impossible; it must be >= 1")
        if self.level not in (1, -1):
            raise ConfigError(f"{w}level = {self.level!r} must be 1 (positive rail) or -1 (negative rail)")
        self.channels = tuple(int(c) for c in self.channels)
        return self

    def span_s(self) -> tuple[float, float]:
        """(start, end) in seconds of the signal it changes."""
        if self.kind == "pop":
            return self.time_s, self.time_s + 5 * self.decay_s
        if self.kind == "dropped":
            return self.time_s, self.time_s
        return self.time_s, self.time_s + float(self.duration_s or 0.0)


@dataclass
class ArtefactConfig:
    mains: MainsConfig = field(default_factory=MainsConfig)
    ecg: EcgConfig = field(default_factory=EcgConfig)
    events: list[ArtefactEvent] = field(default_factory=list)
    random_per_min: dict[str, float] = field(default_factory=dict)  # kind -> mean events per minute

    def validate(self) -> ArtefactConfig:
        self.mains.validate()
        self.ecg.validate()
        for i, e in enumerate(self.events):
            e.validate(f"artefacts.events[{i}]")
        for k, v in self.random_per_min.items():
            if k not in EVENT_KINDS:
                raise ConfigError(f"artefacts.random: unknown kind {k!r}; use one of: {', '.join(EVENT_KINDS)}")
            check_range("artefacts.random.", k, v, 0.0, 60.0)
        return self

    def without(self, kinds: set[str]) -> ArtefactConfig:
        """A copy with the named kinds switched off."""
        from dataclasses import replace

        return ArtefactConfig(
            mains=replace(self.mains, enabled=self.mains.enabled and "mains" not in kinds),
            ecg=replace(self.ecg, enabled=self.ecg.enabled and "ecg" not in kinds),
            events=[e for e in self.events if e.kind not in kinds],
            random_per_min={k: v for k, v in self.random_per_min.items() if k not in kinds},
        )


def artefacts_from_dict(data: dict[str, Any] | None) -> ArtefactConfig:
    """The ``[artefacts]`` table of a scenario."""
    data = dict(data or {})
    allowed = {"mains", "ecg", "events", "random"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"artefacts: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}")

    def build(cls, d, where):
        d = dict(d or {})
        names = set(cls.__dataclass_fields__)
        bad = sorted(set(d) - names)
        if bad:
            raise ConfigError(f"{where}: unknown key {bad[0]!r}; known: {', '.join(sorted(names))}")
        for k in ("harmonics", "channels"):
            if k in d and d[k] is not None:
                if not isinstance(d[k], (list, tuple)):
                    raise ConfigError(f"{where}.{k} = {d[k]!r} must be a list")
                d[k] = tuple(d[k])
        try:
            return cls(**d)
        except TypeError as err:
            raise ConfigError(f"{where}: {err}") from None

    events = data.get("events", [])
    if not isinstance(events, list):
        raise ConfigError("artefacts.events must be an array of tables ([[artefacts.events]])")
    rnd = data.get("random", {}) or {}
    if not isinstance(rnd, dict):
        raise ConfigError("artefacts.random must be a table of kind = events per minute")
    rnd = {k.removesuffix("_per_min"): float(v) for k, v in rnd.items()}
    cfg = ArtefactConfig(
        mains=build(MainsConfig, data.get("mains"), "artefacts.mains"),
        ecg=build(EcgConfig, data.get("ecg"), "artefacts.ecg"),
        events=[build(ArtefactEvent, e, f"artefacts.events[{i}]") for i, e in enumerate(events)],
        random_per_min=rnd,
    )
    return cfg.validate()


# ------------------------------------------------------------------------------------ waveforms

#: ECGSYN-like beat: (offset from R in s, relative amplitude, width in s) for P, Q, R, S, T
ECG_WAVES = (
    (-0.20, 0.12, 0.025),
    (-0.030, -0.14, 0.010),
    (0.0, 1.0, 0.009),
    (0.030, -0.28, 0.010),
    (0.26, 0.32, 0.045),
)


def ecg_beats(t_s: np.ndarray, beat_times_s: np.ndarray) -> np.ndarray:
    """Unit-R-peak ECG at times ``t_s`` (n,) from R-peak times ``beat_times_s``."""
    out = np.zeros_like(t_s, dtype=np.float64)
    if len(beat_times_s) == 0 or len(t_s) == 0:
        return out
    for r in beat_times_s:
        lo = np.searchsorted(t_s, r - 0.35)
        hi = np.searchsorted(t_s, r + 0.45)
        if hi <= lo:
            continue
        tt = t_s[lo:hi] - r
        seg = np.zeros(hi - lo)
        for off, amp, width in ECG_WAVES:
            seg += amp * np.exp(-0.5 * ((tt - off) / width) ** 2)
        out[lo:hi] += seg
    return out


def motion_waveform(n: int, fs_hz: float, rng: np.random.Generator) -> np.ndarray:
    """A unit-peak movement transient of ``n`` samples: 1-8 Hz oscillation plus baseline shift, Hann-tapered."""
    t = np.arange(n) / fs_hz
    f1, f2 = rng.uniform(1.0, 4.0), rng.uniform(4.0, 8.0)
    x = (
        np.sin(2 * np.pi * f1 * t + rng.uniform(0, 6.28))
        + 0.5 * np.sin(2 * np.pi * f2 * t + rng.uniform(0, 6.28))
        + rng.uniform(-1, 1)
    )
    w = np.hanning(n) if n > 2 else np.ones(n)
    y = x * w
    peak = np.max(np.abs(y)) if n else 1.0
    return y / peak if peak > 0 else y
