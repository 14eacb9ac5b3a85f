"""The simulated patient: muscle drive in answer to a drill's cues.

:class:`PatientModel` turns cues into an activation per muscle and sample (fraction of the
muscle's reference; 1.0 = 100 % of reference), as a person with a weak or overactive muscle would:

- a *reaction time* (plus jitter drawn per cue) after each cue before the drive changes;
- going up: a second-order response with the configured 10-90 % *rise time* and *overshoot*;
  the aim is ``target_pct`` x (1 - ``undershoot_pct``), capped by the *ceiling* (weak muscle);
- going down (relax): a first-order decay with time constant ``relax_time_s`` (slow relaxation);
- while active a slow wander of ``steadiness_pct`` and, if switched on, tremor;
- *fatigue*: sustained activity accumulates fatigue (in seconds of contraction at the fatigue
  reference level), which lowers the ceiling and, in the generator, the median frequency, and
  recovers at rest; *session-to-session* change through :meth:`PatientPreset.for_session`;
- muscles with ``follows`` co-contract with the muscle they follow (antagonist).

Cue shape (agreed with :mod:`feedback.state`'s ``Cue``): a mapping or an object with
``phase`` (``"contract" | "hold" | "relax" | "rest"``), ``target_pct`` (% of reference asked of
``channel``), ``channel`` (0-based), optionally ``targets`` (``[(channel, target_pct), ...]`` for
drills with goals on several channels). ``relax``/``rest`` ask every muscle to let go.
Unknown phases (e.g. ``"done"``) are treated as rest.

Visual feedback (optional): :meth:`PatientModel.see` with the level the display shows (% of the
drill's reference) lets the patient correct its effort toward the target, as a patient watching
the bar does, and learn the display's scale for later reps.

The per-sample dynamics run in a Numba kernel (``cache=True``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dsp import ensure_numba_cache_dir
from emg.errors import ConfigError
from emg.simulation.params import PatientPreset, load_preset

ensure_numba_cache_dir()
from numba import njit  # noqa: E402

log = logging.getLogger(__name__)

ACTIVE_PHASES = ("contract", "hold")
RELAX_PHASES = ("relax", "rest")
#: activation above which a muscle counts as working (fatigue accumulates)
FATIGUE_THRESHOLD = 0.05
#: visual-motor delay of a correction made from the display (s)
VISUAL_DELAY_S = 0.1


@njit(cache=True)
def _drive_kernel(
    cmd,
    dt,
    wn,
    zeta,
    relax_decay,
    ceiling,
    cap_loss_per_s,
    fat_ref,
    recov_decay,
    fatigue_on,
    rest,
    wander,
    state,
    a_out,
    f_out,
):  # pragma: no cover - compiled
    """Per-sample drive dynamics. cmd (M, n) aim; state (M, 5) = a, v, F, last aim, mode (1 up, 0 down).
    a_out = a + max(a - rest, 0) * wander (relative wander of the active part), never below 0."""
    n_m, n = cmd.shape
    for m in range(n_m):
        a = state[m, 0]
        v = state[m, 1]
        f = state[m, 2]
        last = state[m, 3]
        mode = state[m, 4]
        w = wn[m]
        z = zeta[m]
        for i in range(n):
            c = cmd[m, i]
            ceil = ceiling[m]
            if fatigue_on:
                loss = 1.0 - cap_loss_per_s[m] * f
                if loss < 0.2:
                    loss = 0.2
                ceil = ceil * loss
            if c > ceil:
                c = ceil
            if abs(c - last) > 2e-3:
                mode = 1.0 if c > a else 0.0
            last = c
            if mode > 0.5:
                acc = w * w * (c - a) - 2.0 * z * w * v
                v += acc * dt
                a += v * dt
            else:
                a = c + (a - c) * relax_decay[m]
                v = 0.0
            if a < 0.0:
                a = 0.0
                v = 0.0
            if fatigue_on:
                if a > 0.05:
                    f += a / fat_ref[m] * dt
                else:
                    f *= recov_decay
            ex = a - rest[m]
            if ex < 0.0:
                ex = 0.0
            ao = a + ex * wander[m, i]
            a_out[m, i] = ao if ao > 0.0 else 0.0
            f_out[m, i] = f
        state[m, 0] = a
        state[m, 1] = v
        state[m, 2] = f
        state[m, 3] = last
        state[m, 4] = mode


def warm_up_drive() -> None:
    """Load the drive kernel (compile or on-disk cache) before the first live read."""
    one = np.ones(1)
    _drive_kernel(
        np.zeros((1, 2)),
        0.001,
        one,
        one,
        one * 0.5,
        one,
        one * 0.0,
        one,
        0.99,
        True,
        one * 0.0,
        np.zeros((1, 2)),
        np.zeros((1, 5)),
        np.zeros((1, 2)),
        np.zeros((1, 2)),
    )


def zeta_for_overshoot(overshoot_pct: float) -> float:
    """Damping ratio of a second-order step response with this % overshoot (1.0 for none)."""
    if overshoot_pct <= 0.0:
        return 1.0
    lo = math.log(overshoot_pct / 100.0)
    return -lo / math.sqrt(math.pi**2 + lo**2)


def rise_time_unit(zeta: float) -> float:
    """10-90 % rise time of a second-order step response with wn = 1 rad/s (computed exactly)."""
    t = np.linspace(0.0, 20.0, 200001)
    if zeta < 1.0:
        wd = math.sqrt(1.0 - zeta**2)
        y = 1.0 - np.exp(-zeta * t) * (np.cos(wd * t) + zeta / wd * np.sin(wd * t))
    else:
        y = 1.0 - np.exp(-t) * (1.0 + t)
    return float(t[np.argmax(y >= 0.9)] - t[np.argmax(y >= 0.1)])


def cue_fields(cue: Any) -> tuple[str, float, int, list[tuple[int, float]]]:
    """``(phase, target_pct, channel, targets)`` from a cue mapping or object (see module doc)."""
    if cue is None:
        return "rest", 0.0, 0, []
    get = cue.get if isinstance(cue, dict) else (lambda k, d=None: getattr(cue, k, d))
    phase = str(get("phase", "rest") or "rest").lower()
    try:
        target = float(get("target_pct", 0.0) or 0.0)
        channel = int(get("channel", 0) or 0)
        targets = [(int(c), float(p)) for c, p in (get("targets", None) or [])]
    except (TypeError, ValueError) as err:
        raise ConfigError(f"cue {cue!r} is malformed ({err}); give phase, target_pct and channel") from None
    if not math.isfinite(target) or target < 0:
        raise ConfigError(f"cue target_pct = {target!r} is impossible; it must be a number >= 0")
    return phase, target, channel, targets


@dataclass
class CueRecord:
    """A cue as the patient received it (for the ground truth)."""

    sample: int
    time_s: float
    phase: str
    target_pct: float
    channel: int
    reaction_s: float


class PatientModel:
    """Closed-loop patient: ``set_cue`` now, then ``step(n)`` gives the next ``n`` samples of drive.

    ``fs_hz``: the rate the drive is computed at (the generator's internal rate). ``seed``: makes
    the reaction-time jitter and wander reproducible. ``session``: 0-based session number
    (session-to-session change). ``fatigue``/``tremor``/``cocontraction``: switch those on or
    off whatever the preset says (None keeps the preset).
    """

    def __init__(
        self,
        preset: PatientPreset | str,
        fs_hz: float,
        *,
        seed: int | np.random.SeedSequence | None = None,
        session: int = 0,
        fatigue: bool | None = None,
        tremor: bool | None = None,
        cocontraction: bool = True,
    ) -> None:
        base = load_preset(preset)
        warm_up_drive()
        self.preset = base.for_session(int(session))
        self.session = int(session)
        self.fs_hz = float(fs_hz)
        self.dt = 1.0 / self.fs_hz
        p = self.preset
        r = p.response
        self.fatigue_on = p.fatigue.enabled if fatigue is None else bool(fatigue)
        self.tremor_on = p.tremor.enabled if tremor is None else bool(tremor)
        self.cocontraction_on = bool(cocontraction)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        s_jitter, s_wander, s_tremor = ss.spawn(3)
        self._rng = np.random.default_rng(s_jitter)
        self._wander_rng = np.random.default_rng(s_wander)
        m = len(p.muscles)
        self.n_muscles = m
        self.muscle_names = [mu.name for mu in p.muscles]
        zeta = zeta_for_overshoot(r.overshoot_pct)
        wn = rise_time_unit(zeta) / r.rise_time_s
        self._wn = np.full(m, wn)
        self._zeta = np.full(m, zeta)
        relax = np.array([mu.relax_time_s or r.relax_time_s for mu in p.muscles])
        self.relax_time_s = relax
        self._relax_decay = np.exp(-self.dt / relax)
        self.rest = np.array(
            [r.rest_activation if mu.rest_activation is None else mu.rest_activation for mu in p.muscles]
        )
        self.reaction_s = np.array(
            [r.reaction_time_s if mu.reaction_time_s is None else mu.reaction_time_s for mu in p.muscles]
        )
        self._ceiling = np.full(m, r.ceiling)
        self._cap_loss = np.full(m, p.fatigue.capacity_loss_pct_per_min / 100.0 / 60.0)
        self._fat_ref = np.full(m, p.fatigue.reference_activation)
        self._recov_decay = math.exp(-self.dt / p.fatigue.recovery_time_s)
        # state: a, v, F, last aim, mode
        self._state = np.zeros((m, 5))
        self._state[:, 0] = self.rest
        self._state[:, 3] = self.rest
        self._aim = self.rest.copy()  # the latest aim scheduled per muscle
        #: the patient's sense of the display's scale per channel (learnt from visual feedback, see ``see``)
        self.effort_gain = np.ones(m)
        self._cue_now: tuple[str, float, int, list] = ("rest", 0.0, 0, [])
        self._cue_sample = 0
        self._seen_sample = 0
        self._current_cmd = self.rest.copy()  # the aim in force now
        self._pending: list[tuple[int, int, float]] = []  # (sample, muscle, aim)
        self.sample = 0
        self.cues: list[CueRecord] = []
        self.changes: list[tuple[int, int, float]] = []  # applied (sample, muscle, aim)
        # wander: one-pole low-pass (1 Hz) of white noise at 100 Hz, held, scaled to steadiness SD
        self._wander_hold = max(1, int(round(self.fs_hz / 100.0)))
        self._wander_alpha = math.exp(-2 * math.pi * 1.0 * self._wander_hold * self.dt)
        self._wander_buf = np.zeros((m, 0))
        sd = r.steadiness_pct / 100.0
        self._wander_in_sd = sd * math.sqrt((1 + self._wander_alpha) / (1 - self._wander_alpha))
        # the wander filter's last output (starts in its stationary distribution)
        self._wander_y = self._wander_rng.normal(0.0, sd, m) if sd > 0 else np.zeros(m)
        # tremor: phase per muscle (shared frequency: one central oscillator)
        trng = np.random.default_rng(s_tremor)
        self._tremor_phase = float(trng.uniform(0, 2 * np.pi))

    # ---------------------------------------------------------------------------------- cues
    @property
    def time_s(self) -> float:
        return self.sample / self.fs_hz

    @property
    def ceiling(self) -> float:
        """The preset's ceiling at this session (fraction of reference), before fatigue."""
        return float(self.preset.response.ceiling)

    def aims_for(self, phase: str, target_pct: float, channel: int, targets: list[tuple[int, float]]) -> np.ndarray:
        """The activation each muscle aims for under this cue (before the ceiling)."""
        r = self.preset.response
        aim = self.rest.copy()
        if phase in ACTIVE_PHASES:
            goals = dict(targets) if targets else {}
            if not targets or channel not in goals:
                goals[channel] = target_pct
            for ch, pct in goals.items():
                if 0 <= ch < self.n_muscles and pct > 0:
                    aim[ch] = max(self.rest[ch], pct / 100.0 * (1.0 - r.undershoot_pct / 100.0) * self.effort_gain[ch])
            if self.cocontraction_on:
                for i, mu in enumerate(self.preset.muscles):
                    if mu.follows is not None and mu.cocontraction > 0 and i not in goals:
                        aim[i] = max(self.rest[i], mu.cocontraction * aim[mu.follows])
        elif phase not in RELAX_PHASES:
            log.debug("cue phase %r treated as rest", phase)
        return aim

    def set_cue(self, cue: Any) -> None:
        """Receive a drill cue now (see the module doc for its shape); the drive changes after a reaction time."""
        phase, target, channel, targets = cue_fields(cue)
        self._cue_now = (phase, target, channel, targets)
        self._cue_sample = self.sample
        self._seen_sample = self.sample
        aim = self.aims_for(phase, target, channel, targets)
        r = self.preset.response
        jitter = float(self._rng.normal(0.0, r.reaction_jitter_s)) if r.reaction_jitter_s > 0 else 0.0
        reaction = None
        for i in range(self.n_muscles):
            if abs(aim[i] - self._aim[i]) < 1e-9:
                continue
            rt = max(0.05, self.reaction_s[i] + jitter)
            at = self.sample + int(round(rt * self.fs_hz))
            self._pending.append((at, i, float(aim[i])))
            self._aim[i] = aim[i]
            if i == channel or reaction is None:
                reaction = rt
        self._pending.sort(key=lambda x: (x[0], x[1]))
        self.cues.append(
            CueRecord(
                self.sample,
                self.time_s,
                phase,
                target,
                channel,
                float(reaction) if reaction is not None else float("nan"),
            )
        )

    def see(self, level_pct: Any) -> None:
        """Visual feedback: the level the display shows now, in % of the drill's reference.

        ``level_pct``: one number (the cued channel), a sequence per channel, or ``{channel: pct}``.
        While contracting or holding (after its reaction and rise time) the patient corrects its
        effort toward the target at ``feedback_gain_per_s`` and keeps what it learnt for later reps
        (its sense of the display's scale). Ignored when relaxing or resting.
        """
        r = self.preset.response
        phase, target, channel, targets = self._cue_now
        dt = (self.sample - self._seen_sample) / self.fs_hz
        self._seen_sample = self.sample
        if r.feedback_gain_per_s <= 0 or phase not in ACTIVE_PHASES or dt <= 0:
            return
        settle = int(round((float(np.max(self.reaction_s)) + r.rise_time_s) * self.fs_hz))
        if self.sample - self._cue_sample < settle:
            return
        goals = dict(targets) if targets else {}
        if not targets or channel not in goals:
            goals[channel] = target
        if isinstance(level_pct, dict):
            levels = {int(k): float(v) for k, v in level_pct.items()}
        elif np.ndim(level_pct) == 0:
            levels = {channel: float(level_pct)}
        else:
            levels = {i: float(v) for i, v in enumerate(np.asarray(level_pct, dtype=float).ravel())}
        changed = False
        for ch, pct in goals.items():
            lv = levels.get(ch)
            if lv is None or not np.isfinite(lv) or pct <= 0 or not 0 <= ch < self.n_muscles:
                continue
            err = (pct - lv) / max(pct, 5.0)
            if abs(err) < 0.03:  # close enough: people do not chase a few percent
                continue
            g = self.effort_gain[ch] * math.exp(r.feedback_gain_per_s * min(dt, 0.5) * float(np.clip(err, -1, 1)))
            self.effort_gain[ch] = float(np.clip(g, 0.25, 4.0))
            changed = True
        if not changed:
            return
        aim = self.aims_for(phase, target, channel, targets)
        at = self.sample + int(round(VISUAL_DELAY_S * self.fs_hz))
        for i in range(self.n_muscles):
            if abs(aim[i] - self._aim[i]) > 1e-9:
                self._pending.append((at, i, float(aim[i])))
                self._aim[i] = aim[i]
        self._pending.sort(key=lambda x: (x[0], x[1]))

    # ---------------------------------------------------------------------------------- drive
    def _commands(self, n: int) -> np.ndarray:
        cmd = np.repeat(self._current_cmd[:, None], n, axis=1)
        end = self.sample + n
        while self._pending and self._pending[0][0] < end:
            at, i, value = self._pending.pop(0)
            k = max(0, at - self.sample)
            cmd[i, k:] = value
            self._current_cmd[i] = value
            self.changes.append((max(at, self.sample), i, value))
        return cmd

    def _wander_for(self, n: int) -> np.ndarray:
        """Relative wander (M, n): 1 Hz low-passed noise computed at 100 Hz and held (chunking-invariant)."""
        from emg.simulation.kernels import one_pole_filter

        buf = self._wander_buf
        if buf.shape[1] < n:
            d = self._wander_hold
            m = -(-(n - buf.shape[1]) // d)
            w = self._wander_rng.standard_normal((m, self.n_muscles)).T * self._wander_in_sd
            vals = one_pole_filter(w, self._wander_alpha, self._wander_y)
            buf = np.concatenate([buf, np.repeat(vals, d, axis=1)], axis=1)
        self._wander_buf = buf[:, n:]
        return np.ascontiguousarray(buf[:, :n])  # the kernel is compiled for C-contiguous arrays

    def step(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` samples: ``activation`` (M, n) (fraction of reference, wander and tremor
        included) and ``fatigue_s`` (M, n) (accumulated fatigue, seconds at the fatigue reference level)."""
        cmd = self._commands(n)
        a = np.empty((self.n_muscles, n))
        f = np.empty((self.n_muscles, n))
        r = self.preset.response
        wander = self._wander_for(n) if r.steadiness_pct > 0 else np.zeros((self.n_muscles, n))
        _drive_kernel(
            cmd,
            self.dt,
            self._wn,
            self._zeta,
            self._relax_decay,
            self._ceiling,
            self._cap_loss,
            self._fat_ref,
            self._recov_decay,
            self.fatigue_on,
            self.rest,
            wander,
            self._state,
            a,
            f,
        )
        if self.tremor_on:
            t = self.preset.tremor
            ph = self._tremor_phase + 2 * np.pi * t.frequency_hz * np.arange(n) * self.dt
            self._tremor_phase = float((self._tremor_phase + 2 * np.pi * t.frequency_hz * n * self.dt) % (2 * np.pi))
            weight = np.clip((a - self.rest[:, None]) / 0.05, 0.0, 1.0)
            a = a * (1.0 + t.depth * weight * np.sin(ph)[None, :])
            np.clip(a, 0.0, None, out=a)
        self.sample += n
        return a, f
