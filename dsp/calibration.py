"""Calibration: rest floor and reference contraction per channel; activation in % of the reference.

The reference is a maximum voluntary contraction (``kind="mvc"``, ``reference_level_pct=100``) or a
sub-maximal reference contraction for patients who cannot produce a maximum (``kind="submax"``,
``reference_level_pct`` = its intended % of maximum). Saved and loaded as JSON text (no file I/O here).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from dsp.errors import SignalError

KINDS = ("mvc", "submax")
FORMAT_VERSION = 1

#: A reference is "clearly above rest" when it exceeds the floor by this many rest SDs ...
MIN_SD_MARGIN = 5.0
#: ... and is at least this many times the floor.
MIN_RATIO = 1.5
#: The reference level is the highest mean envelope over a window of this length (ISEK: 0.5 s or so).
REFERENCE_WINDOW_S = 0.5


class CalibrationRefused(SignalError):
    """The recorded rest / reference cannot make an honest calibration; the message says why and what to do."""


def _names(n: int, channel_names) -> list[str]:
    if channel_names is None:
        return [f"ch{i + 1}" for i in range(n)]
    names = [str(v) for v in channel_names]
    if len(names) != n:
        raise SignalError(f"{len(names)} channel names given for {n} channels; pass one name per channel")
    return names


def _moving_max_mean(env: np.ndarray, window: int) -> np.ndarray:
    """Per channel, the highest mean over ``window`` consecutive samples (C,)."""
    n = env.shape[1]
    window = max(1, min(window, n))
    csum = np.concatenate([np.zeros((env.shape[0], 1)), np.cumsum(env, axis=1)], axis=1)
    means = (csum[:, window:] - csum[:, :-window]) / window
    return means.max(axis=1)


@dataclass
class Calibration:
    """Per-channel rest floor, rest SD and reference level (uV of the envelope named in ``envelope``)."""

    rest_floor_uv: np.ndarray
    rest_sd_uv: np.ndarray
    reference_uv: np.ndarray
    channel_names: list[str]
    fs_hz: float
    envelope: str = "adaptive"
    kind: str = "mvc"
    reference_level_pct: float = 100.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rest_floor_uv = np.asarray(self.rest_floor_uv, dtype=np.float64).reshape(-1)
        self.rest_sd_uv = np.asarray(self.rest_sd_uv, dtype=np.float64).reshape(-1)
        self.reference_uv = np.asarray(self.reference_uv, dtype=np.float64).reshape(-1)
        n = self.rest_floor_uv.shape[0]
        if self.rest_sd_uv.shape[0] != n or self.reference_uv.shape[0] != n:
            raise SignalError("calibration arrays differ in channel count; rebuild it from the same recording")
        self.channel_names = _names(n, self.channel_names)
        if self.kind not in KINDS:
            raise SignalError(f"calibration kind {self.kind!r} is unknown; use 'mvc' or 'submax'")
        if not (0 < float(self.reference_level_pct) <= 100):
            raise SignalError(
                f"reference level {self.reference_level_pct} % is outside 0-100; give the reference's % of maximum"
            )
        for name, arr in (
            ("rest floor", self.rest_floor_uv),
            ("rest SD", self.rest_sd_uv),
            ("reference", self.reference_uv),
        ):
            if not np.all(np.isfinite(arr)):
                raise CalibrationRefused(f"calibration {name} has non-finite values; record rest and reference again")
        bad = [self.channel_names[i] for i in range(n) if not self.reference_uv[i] > self.rest_floor_uv[i]]
        if bad:
            raise CalibrationRefused(
                f"reference is not above the rest floor on {', '.join(bad)}; "
                "check electrodes and record the reference again"
            )

    @property
    def n_channels(self) -> int:
        return int(self.rest_floor_uv.shape[0])

    @classmethod
    def from_envelopes(
        cls,
        rest_env,
        reference_env,
        *,
        fs_hz: float,
        envelope: str = "adaptive",
        channel_names=None,
        kind: str = "mvc",
        reference_level_pct: float | None = None,
        meta: dict | None = None,
        min_sd_margin: float = MIN_SD_MARGIN,
        min_ratio: float = MIN_RATIO,
        reference_window_s: float = REFERENCE_WINDOW_S,
    ) -> Calibration:
        """Build from the envelope (uV) of a rest recording (C, n) and of a reference contraction (C, m).

        Floor = mean rest envelope, SD = its standard deviation, reference = highest mean over
        ``reference_window_s``. Raises :class:`CalibrationRefused` when, on any channel, the reference
        is not at least ``min_ratio`` x the floor and ``min_sd_margin`` rest SDs above it, or when
        the recordings are too short or contain non-finite values.
        """
        rest = np.atleast_2d(np.asarray(rest_env, dtype=np.float64))
        ref = np.atleast_2d(np.asarray(reference_env, dtype=np.float64))
        if rest.shape[0] != ref.shape[0]:
            raise CalibrationRefused(
                f"rest has {rest.shape[0]} channels but the reference has {ref.shape[0]}; "
                "record both with the same montage"
            )
        fs_hz = float(fs_hz)
        if rest.shape[1] < int(0.5 * fs_hz):
            raise CalibrationRefused(
                f"rest recording is {rest.shape[1] / fs_hz:.2f} s long; record at least 2 s of rest"
            )
        window = max(1, int(round(reference_window_s * fs_hz)))
        if ref.shape[1] < window:
            raise CalibrationRefused(
                f"reference contraction is {ref.shape[1] / fs_hz:.2f} s long; "
                f"hold it for at least {reference_window_s:g} s"
            )
        names = _names(rest.shape[0], channel_names)
        for label, arr in (("rest", rest), ("reference", ref)):
            bad = ~np.all(np.isfinite(arr), axis=1)
            if bad.any():
                chans = ", ".join(n for n, b in zip(names, bad, strict=False) if b)
                raise CalibrationRefused(
                    f"{label} envelope has NaN/inf samples on {chans}; fix the electrode contact and record again"
                )
        floor = rest.mean(axis=1)
        sd = rest.std(axis=1)
        reference = _moving_max_mean(ref, window)
        reasons = []
        for i, name in enumerate(names):
            need = max(floor[i] * min_ratio, floor[i] + min_sd_margin * sd[i])
            if not reference[i] >= need:
                ratio = reference[i] / floor[i] if floor[i] > 0 else float("inf")
                reasons.append(f"{name} ({reference[i]:.3g} uV vs rest {floor[i]:.3g} +- {sd[i]:.2g} uV, x{ratio:.2f})")
        if reasons:
            raise CalibrationRefused(
                "reference contraction is not clearly above rest on "
                + "; ".join(reasons)
                + f"; it must reach {min_ratio:g}x the rest level and {min_sd_margin:g} rest SDs above it: "
                "check electrode placement and contact, then contract harder or longer"
            )
        if reference_level_pct is None:
            reference_level_pct = 100.0 if kind == "mvc" else 50.0
        return cls(
            rest_floor_uv=floor,
            rest_sd_uv=sd,
            reference_uv=reference,
            channel_names=names,
            fs_hz=fs_hz,
            envelope=envelope,
            kind=kind,
            reference_level_pct=float(reference_level_pct),
            meta=dict(meta or {}),
        )

    def activation_pct(self, env_uv) -> np.ndarray:
        """Activation (C, n) = 100 * (env - floor) / (reference - floor), in % of the reference (not clipped)."""
        env = np.asarray(env_uv, dtype=np.float64)
        if env.ndim == 1:
            env = env[:, None]
        if env.shape[0] != self.n_channels:
            raise SignalError(
                f"envelope has {env.shape[0]} channels but the calibration has {self.n_channels}; "
                "use the matching calibration"
            )
        floor = self.rest_floor_uv[:, None]
        return 100.0 * (env - floor) / (self.reference_uv[:, None] - floor)

    def percent_of_max(self, env_uv) -> np.ndarray:
        """Activation (C, n) as an estimated % of maximum: ``activation_pct * reference_level_pct / 100``."""
        return self.activation_pct(env_uv) * (self.reference_level_pct / 100.0)

    def rest_threshold_uv(self, k_sd: float = 3.0) -> np.ndarray:
        """Envelope level (C,) k rest SDs above the floor (for 'relaxed' checks and detection)."""
        return self.rest_floor_uv + k_sd * self.rest_sd_uv

    def to_dict(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "rest_floor_uv": [float(v) for v in self.rest_floor_uv],
            "rest_sd_uv": [float(v) for v in self.rest_sd_uv],
            "reference_uv": [float(v) for v in self.reference_uv],
            "channel_names": list(self.channel_names),
            "fs_hz": float(self.fs_hz),
            "envelope": self.envelope,
            "kind": self.kind,
            "reference_level_pct": float(self.reference_level_pct),
            "meta": self.meta,
        }

    def to_json(self) -> str:
        """JSON text (floats written with full precision so a round trip is exact)."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        if not isinstance(data, dict):
            raise SignalError("calibration JSON is not an object; use a file written by Calibration.to_json")
        missing = [k for k in ("rest_floor_uv", "rest_sd_uv", "reference_uv", "fs_hz") if k not in data]
        if missing:
            raise SignalError(f"calibration JSON lacks {', '.join(missing)}; use a file written by Calibration.to_json")
        version = data.get("format_version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise SignalError(f"calibration format version {version!r} is newer than this software; update emg")
        try:
            fs = float(data["fs_hz"])
            if not math.isfinite(fs) or fs <= 0:
                raise ValueError
            return cls(
                rest_floor_uv=np.array(data["rest_floor_uv"], dtype=np.float64),
                rest_sd_uv=np.array(data["rest_sd_uv"], dtype=np.float64),
                reference_uv=np.array(data["reference_uv"], dtype=np.float64),
                channel_names=data.get("channel_names"),
                fs_hz=fs,
                envelope=str(data.get("envelope", "adaptive")),
                kind=str(data.get("kind", "mvc")),
                reference_level_pct=float(data.get("reference_level_pct", 100.0)),
                meta=dict(data.get("meta") or {}),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, SignalError):
                raise
            raise SignalError(f"calibration JSON has a malformed value ({exc}); recalibrate") from None

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        """Parse :meth:`to_json` output; :class:`SignalError` with the reason if it is not a calibration."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise SignalError(f"calibration is not valid JSON ({exc}); recalibrate or restore the file") from None
        return cls.from_dict(data)
