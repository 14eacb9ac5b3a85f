"""Balance (one-legged stance): hold the stance for ``hold_s`` while the board's accelerometer
measures sway and the ankle muscles' activation stays steady.

Sway: each accelerometer sample (g) is turned into two tilt angles (degrees) about the mean
gravity direction of the trial; the score is the area of the 95 % confidence ellipse of those
angles (``sway_area_deg2`` = pi * 5.991 * sqrt(det(cov))), with the RMS tilt (``sway_rms_deg``)
and the path length (``sway_path_deg``). Samples where all three axes read exactly 0 are the
Cyton's "no accelerometer reading in this packet" and are skipped, as are non-finite ones.
EMG steadiness: the coefficient of variation (%) of each ankle channel's level over the trial's
clean samples (``emg_cv_pct`` per channel, ``emg_cv_mean_pct`` their mean; None for a channel whose
mean level is below 5 %, where a CV is noise over noise).
``level_pct`` (optional) is the activation the stance is expected to need: drawn as a guide line
and published as the cue's target (what the simulated patient produces); 0 asks for no level.
A trial succeeds when the sway area is at most ``max_sway_area_deg2`` and the mean CV at most
``max_emg_cv_pct`` (a limit of 0 is not judged); without accelerometer data only EMG is judged
and the patient is told sway is not measured.
Live for the view: ``state.sway_deg2`` (the sway area so far in this trial; at its end the trial's score),
``state.sway_limit_deg2`` and ``state.tilt_deg`` (the latest sample's two tilt angles about the trial's
starting direction, the first toward the board's x axis). A failed trial says why ("too much sway: 23.9 of 20 deg²").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from feedback.timed_trials import TimedTrialDrill

CHI2_95_2DOF = 5.991464547107979  # chi-square quantile, 2 degrees of freedom, p = 0.95
#: below this mean level (% of reference) a channel's coefficient of variation is not computed
MIN_CV_LEVEL_PCT = 5.0
NO_ACCEL_MESSAGE = "No accelerometer data from this board: sway is not measured"


def tilt_angles_deg(accel_g: np.ndarray) -> np.ndarray:
    """Tilt (2, m) in degrees of each accelerometer sample (3, m) about their mean direction."""
    a = np.asarray(accel_g, dtype=np.float64)
    norm = np.linalg.norm(a, axis=0)
    u = a / norm
    g0 = u.mean(axis=1)
    e1, e2 = tilt_basis(g0 / np.linalg.norm(g0))
    return np.degrees(np.arcsin(np.clip(np.vstack([e1 @ u, e2 @ u]), -1.0, 1.0)))


def tilt_basis(g0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors orthogonal to the unit gravity direction ``g0`` (and to each other): the first is
    the board's x axis projected off ``g0`` (its y axis when x is nearly along gravity)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(g0[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = helper - float(helper @ g0) * g0
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(g0, e1)


def sway_metrics(accel_g: np.ndarray) -> dict[str, float | None]:
    """``sway_area_deg2`` (95 % ellipse), ``sway_rms_deg`` and ``sway_path_deg`` of accel samples (3, m)."""
    a = np.asarray(accel_g, dtype=np.float64)
    keep = np.isfinite(a).all(axis=0) & (np.abs(a).sum(axis=0) > 0)
    a = a[:, keep]
    if a.shape[1] < 3:
        return {"sway_area_deg2": None, "sway_rms_deg": None, "sway_path_deg": None, "accel_samples": int(a.shape[1])}
    ang = tilt_angles_deg(a)
    cov = np.cov(ang)
    det = max(float(np.linalg.det(cov)), 0.0)
    centred = ang - ang.mean(axis=1, keepdims=True)
    return {
        "sway_area_deg2": round(math.pi * CHI2_95_2DOF * math.sqrt(det), 6),
        "sway_rms_deg": round(float(np.sqrt(np.mean(np.sum(centred**2, axis=0)))), 6),
        "sway_path_deg": round(float(np.sum(np.linalg.norm(np.diff(ang, axis=1), axis=0))), 6),
        "accel_samples": int(a.shape[1]),
    }


class _LiveSway:
    """Running sway area for the display, O(1) per sample: tilt about the direction of the first
    ``REF_SAMPLES`` valid samples, with running sums for the covariance. The trial's final score
    comes from :func:`sway_metrics` over all samples (tilt about their mean direction)."""

    REF_SAMPLES = 10

    def __init__(self) -> None:
        self.n = 0
        self._first: list[tuple[float, float, float]] = []
        self._e1: tuple[float, float, float] | None = None
        self._e2: tuple[float, float, float] | None = None
        self._s = [0.0] * 5  # sum a, sum b, sum a^2, sum b^2, sum ab
        self.tilt: tuple[float, float] | None = None  # the latest sample's tilt (deg), once the direction is known

    def add(self, x: float, y: float, z: float) -> None:
        norm = math.sqrt(x * x + y * y + z * z)
        if not (norm > 0 and math.isfinite(norm)):
            return  # the Cyton's packets without an accelerometer reading read 0, 0, 0
        u = (x / norm, y / norm, z / norm)
        self.n += 1
        if self._e1 is None:
            self._first.append(u)
            if len(self._first) >= self.REF_SAMPLES:
                g = np.mean(np.asarray(self._first), axis=0)
                ang_basis = tilt_basis(g / np.linalg.norm(g))
                self._e1, self._e2 = tuple(ang_basis[0]), tuple(ang_basis[1])
                for v in self._first:
                    self._accumulate(v)
            return
        self._accumulate(u)

    def _accumulate(self, u: tuple[float, float, float]) -> None:
        e1, e2 = self._e1, self._e2
        a = math.degrees(math.asin(max(-1.0, min(1.0, u[0] * e1[0] + u[1] * e1[1] + u[2] * e1[2]))))
        b = math.degrees(math.asin(max(-1.0, min(1.0, u[0] * e2[0] + u[1] * e2[1] + u[2] * e2[2]))))
        self.tilt = (round(a, 3), round(b, 3))
        s = self._s
        s[0] += a
        s[1] += b
        s[2] += a * a
        s[3] += b * b
        s[4] += a * b

    def area_deg2(self) -> float | None:
        k = self.n if self._e1 is not None else 0
        if k < 3:
            return None
        s = self._s
        ma, mb = s[0] / k, s[1] / k
        caa = (s[2] - k * ma * ma) / (k - 1)
        cbb = (s[3] - k * mb * mb) / (k - 1)
        cab = (s[4] - k * ma * mb) / (k - 1)
        return round(math.pi * CHI2_95_2DOF * math.sqrt(max(caa * cbb - cab * cab, 0.0)), 3)


class BalanceDrill(TimedTrialDrill):
    """Stance of ``[stance] hold_s``; sway from the accelerometer, steadiness of ``[stance] channels``."""

    kind = "balance"
    uses_accel = True

    def _resolve_channels(self) -> list[int]:
        st = self.config.params["stance"]
        chans = [
            self.config.resolve_channel("stance", "channels", self.channel_names, self.n_channels, value=c)
            for c in st["channels"]
        ]
        if len(set(chans)) != len(chans):
            raise self.config.error("stance", "channels", "lists a channel twice", "list each ankle muscle once")
        self.hold_s = float(st["hold_s"])
        self.side = st["side"]
        self.level_pct = float(st["level_pct"])
        sc = self.config.params["scoring"]
        self.max_sway_area_deg2 = float(sc["max_sway_area_deg2"])
        self.max_emg_cv_pct = float(sc["max_emg_cv_pct"])
        self._reset(len(chans))
        return chans

    def _start(self, t: float) -> None:
        self.state.sway_limit_deg2 = self.max_sway_area_deg2 if self.max_sway_area_deg2 > 0 else None
        super()._start(t)

    def _reset(self, k: int) -> None:
        self._accel_buf = np.zeros((3, self._n(self.hold_s) + 2))
        self._accel_n = 0
        self._live = _LiveSway()
        self._emg: list[list[float]] = [[] for _ in range(k)]

    def trial_duration_s(self) -> float:
        return self.hold_s

    def _trial_begin(self, t: float) -> dict[str, Any]:
        self._reset(len(self.channels))
        self.state.sway_deg2, self.state.tilt_deg = None, None
        lv = self.level_pct
        self._set_cue(
            t, "hold", f"STAND ON {self.side.upper()} LEG", target_pct=lv, targets=tuple((c, lv) for c in self.channels)
        )
        if lv > 0:
            self.state.target_marker_pct = {c: lv for c in self.channels}  # a guide, not a line to stay under
        return {"hold_s": self.hold_s, "side": self.side}

    def _trial_sample(self, t: float, tau: float, v: list[float], gated: bool) -> None:
        if self._accel is not None and self._accel_n < self._accel_buf.shape[1]:
            col = self._accel[:, self._accel_i]
            self._accel_buf[:, self._accel_n] = col
            self._accel_n += 1
            self._live.add(float(col[0]), float(col[1]), float(col[2]))
        if not gated:
            for lst, x in zip(self._emg, v, strict=False):
                lst.append(x)

    def _emg_cv(self) -> list[float | None]:
        out = []
        for lst in self._emg:
            if len(lst) < 2:
                out.append(None)
                continue
            arr = np.asarray(lst)
            m = float(arr.mean())
            # a CV of a level near rest is noise over noise: only judge a muscle that works
            out.append(round(100.0 * float(arr.std()) / m, 6) if m >= MIN_CV_LEVEL_PCT else None)
        return out

    def _accel_matrix(self) -> np.ndarray:
        return self._accel_buf[:, : self._accel_n]

    def _trial_score(self) -> tuple[bool, dict[str, Any]]:
        sway = sway_metrics(self._accel_matrix())
        cvs = self._emg_cv()
        valid = [c for c in cvs if c is not None]
        cv_mean = round(sum(valid) / len(valid), 6) if valid else None
        passed = True
        if self.max_sway_area_deg2 > 0 and sway["sway_area_deg2"] is not None:
            passed &= sway["sway_area_deg2"] <= self.max_sway_area_deg2
        if self.max_emg_cv_pct > 0:
            passed &= cv_mean is not None and cv_mean <= self.max_emg_cv_pct
        return bool(passed), {
            **sway,
            "emg_cv_pct": cvs,
            "emg_cv_mean_pct": cv_mean,
            "emg_mean_pct": [round(sum(x) / len(x), 6) if x else None for x in self._emg],
        }

    def _trial_refresh(self, t: float, tau: float) -> None:
        self.state.message = NO_ACCEL_MESSAGE if self._live.n == 0 and tau > 0.5 else ""
        area = self._live.area_deg2()
        self.state.score = {"sway_area_deg2": area}
        self.state.sway_deg2 = area
        self.state.tilt_deg = self._live.tilt

    def _end_trial(self, t: float) -> None:
        super()._end_trial(t)
        last = self.results[-1] if self.results else {}
        self.state.sway_deg2 = last.get("sway_area_deg2")  # the score the trial was judged on

    def _failure_reason(self, metrics: dict[str, Any]) -> str:
        parts = []
        area = metrics.get("sway_area_deg2")
        if self.max_sway_area_deg2 > 0 and area is not None and area > self.max_sway_area_deg2:
            parts.append(f"too much sway: {area:.1f} of {self.max_sway_area_deg2:g} deg\u00b2")
        cv = metrics.get("emg_cv_mean_pct")
        if self.max_emg_cv_pct > 0:
            if cv is None:
                parts.append("ankle muscles not working enough to judge steadiness")
            elif cv > self.max_emg_cv_pct:
                parts.append(f"muscles unsteady: {cv:.0f} % variation (at most {self.max_emg_cv_pct:g})")
        return "; ".join(parts) or "score outside the goal"

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        areas = [r["sway_area_deg2"] for r in self.results if r.get("sway_area_deg2") is not None]
        out["mean_sway_area_deg2"] = round(sum(areas) / len(areas), 6) if areas else None
        cvs = [r["emg_cv_mean_pct"] for r in self.results if r.get("emg_cv_mean_pct") is not None]
        out["mean_emg_cv_pct"] = round(sum(cvs) / len(cvs), 6) if cvs else None
        out["goal"] = {
            "hold_s": self.hold_s,
            "side": self.side,
            "max_sway_area_deg2": self.max_sway_area_deg2,
            "max_emg_cv_pct": self.max_emg_cv_pct,
        }
        return out
