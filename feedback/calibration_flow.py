"""Calibration flow: rest baseline, then reference contractions (best of N), with on-screen instructions.

Driven like a drill, but by the envelope in microvolts (not by activation %, which needs the
calibration): ``update(t_s, envelope_uv (C, n), flags (C, n) | None) -> list[DrillEvent]``.

Phases: PREPARE (``prepare_s``, "Sit still, relax") -> REST (``rest_s``, the rest baseline is
recorded) -> for each of ``n_contractions``: CONTRACT (``contraction_s``, "as hard as you can" for
an MVC, "to the reference effort" for a sub-maximal reference) then REST (``between_s``, not after
the last). Artefact-flagged samples (dsp.quality bits) are left out: a flagged rest sample is
dropped; a flagged contraction sample cannot raise that channel's reference. Per channel, the
contraction with the highest clean 0.5 s mean is used (best of N).

The result is a :class:`dsp.calibration.Calibration` (``.calibration``) or a refusal with the
reason (``.refusal``; e.g. the reference is not clearly above rest), shown on screen and
recorded as ``calibration_refused``; :meth:`CalibrationFlow.restart` tries again.

The state says which part runs: ``state.stage`` is ``"calibration_rest"`` (PREPARE, REST) or
``"calibration_reference"`` (CONTRACT and the rests between); there are no reps (``reps_total`` 0): the cue
is ``CONTRACT`` and the message "Contraction 2 of 3: ...". For the bars, :attr:`CalibrationFlow.rest_level_uv`
(the clean rest so far) and :attr:`CalibrationFlow.best_level_uv` (each channel's best clean 0.5 s mean over
the finished contractions) are what ``emg.live.stages.CalibrationStage`` scales the envelope by.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

import numpy as np

from dsp.calibration import REFERENCE_WINDOW_S, Calibration, CalibrationRefused
from dsp.errors import SignalError
from feedback import events as ev
from feedback.events import DrillEvent
from feedback.gating import ArtefactGate
from feedback.state import Cue, DrillState

log = logging.getLogger(__name__)
EPS = 1e-9
STAGE_REST = "calibration_rest"
STAGE_REFERENCE = "calibration_reference"


class CalibrationFlow:
    """Rest + best-of-N reference contractions -> ``Calibration`` or a refusal with its reason."""

    kind = "calibration"
    uses_accel = False

    def __init__(
        self,
        *,
        fs_hz: float,
        n_channels: int,
        channel_names: list[str] | None = None,
        rest_s: float = 5.0,
        contraction_s: float = 3.0,
        n_contractions: int = 3,
        between_s: float = 5.0,
        prepare_s: float = 3.0,
        kind: str = "mvc",
        reference_level_pct: float | None = None,
        envelope: str = "adaptive",
        meta: dict[str, Any] | None = None,
        gate_flags: tuple[str, ...] = ("railed", "flat", "nan", "spike", "lead_off", "dropped"),
    ) -> None:
        if not fs_hz > 0:
            raise SignalError(f"calibration sampling rate {fs_hz!r} Hz is not positive; pass the board's fs_hz")
        if n_contractions < 1:
            raise SignalError(f"n_contractions = {n_contractions}; ask for at least 1 reference contraction")
        if contraction_s < REFERENCE_WINDOW_S:
            raise SignalError(
                f"contraction_s = {contraction_s:g} s is shorter than the {REFERENCE_WINDOW_S:g} s "
                "reference window; ask for longer contractions (3 s is usual)"
            )
        if rest_s < 2.0:
            raise SignalError(f"rest_s = {rest_s:g} s is too short for a rest baseline; record at least 2 s")
        if kind not in ("mvc", "submax"):
            raise SignalError(f"calibration kind {kind!r} is unknown; use 'mvc' or 'submax'")
        self.fs_hz = float(fs_hz)
        self.dt_s = 1.0 / self.fs_hz
        self.n_channels = int(n_channels)
        self.channel_names = list(channel_names) if channel_names else [f"ch{i + 1}" for i in range(n_channels)]
        self.rest_s, self.contraction_s, self.between_s, self.prepare_s = rest_s, contraction_s, between_s, prepare_s
        self.n_contractions = int(n_contractions)
        self.cal_kind = kind
        self.reference_level_pct = reference_level_pct
        self.envelope = envelope
        self.meta = dict(meta or {})
        self.gate = ArtefactGate(gate_flags, list(range(self.n_channels)), self.channel_names)
        self.state = DrillState(title="Calibration", kind="calibration", stage=STAGE_REST, scale_label="")
        self.cue = Cue()
        self.calibration: Calibration | None = None
        self.refusal: str | None = None
        self.finished = False
        self._paused = False
        self._resume_pending = False
        self._offset_s = 0.0  # session time minus flow time (grows with pauses)
        self._last_t: float | None = None
        self._events: list[DrillEvent] = []
        self._reset()

    # ---- pause: the interrupted phase starts again (a rest or a contraction cut in two is not usable)
    @property
    def paused(self) -> bool:
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        if value and not self._paused:
            self._paused = True
            self.state.paused = True
        elif not value and self._paused:
            self._paused = False
            self.state.paused = False
            self._resume_pending = True

    def pause(self, t_s: float | None = None) -> list[DrillEvent]:
        """Stop the flow until :meth:`resume`; data meanwhile is ignored."""
        self.paused = True
        return []

    def resume(self, t_s: float | None = None) -> list[DrillEvent]:
        """Continue: the phase that was interrupted (rest or contraction) starts again with the next data."""
        self.paused = False
        return []

    def _reset(self) -> None:
        self.phase = "idle"
        self.contraction = 0
        self._phase_t = 0.0
        self._phase_dur = 0.0
        self._rest: list[np.ndarray] = []
        self._ref: list[list[np.ndarray]] = []
        self._ref_bad: list[list[np.ndarray]] = []
        self._best_uv = np.full(self.n_channels, np.nan)
        self._started = False
        self.calibration, self.refusal, self.finished = None, None, False
        self.state.finished, self.state.message, self.state.failure_reason = False, "", ""
        self.state.stage = STAGE_REST

    @property
    def rest_level_uv(self) -> np.ndarray | None:
        """Mean clean rest envelope (C,) in uV measured so far (the floor-to-be), or None before any."""
        if not self._rest:
            return None
        return np.column_stack(self._rest).mean(axis=1)

    @property
    def best_level_uv(self) -> np.ndarray:
        """Per channel (C,) the best clean 0.5 s mean (uV) over the finished contractions; NaN before one."""
        return self._best_uv.copy()

    # ------------------------------------------------------------------------------------
    def _emit(self, label: str, t: float, **data: Any) -> None:
        self._events.append(DrillEvent(label, t + self._offset_s, data))

    def _restart_phase(self, t: float) -> None:
        """After a pause: drop what the interrupted phase measured and run it again from ``t``."""
        phase = self.phase
        self._emit(ev.RESUME, t, phase_restarted=phase)
        if phase == "rest":
            self._rest = []
        elif phase == "contract":
            self._ref.pop()
            self._ref_bad.pop()
        if phase in ("prepare", "rest", "contract", "between"):
            self._enter(t, phase, self._phase_dur)

    def _enter(self, t: float, phase: str, duration_s: float) -> None:
        self.phase, self._phase_t, self._phase_dur = phase, t, duration_s
        st = self.state
        if phase == "prepare":
            text, cue_phase, msg = "GET READY", "rest", "Sit still and let the muscles go"
        elif phase == "rest":
            text, cue_phase, msg = "RELAX", "relax", "Measuring rest: stay completely relaxed"
        elif phase == "contract":
            text, cue_phase = "CONTRACT", "contract"
            msg = f"Contraction {self.contraction} of {self.n_contractions}: " + (
                "as hard as you can" if self.cal_kind == "mvc" else "to the agreed reference effort"
            )
        else:
            text, cue_phase, msg = "REST", "rest", "Rest before the next contraction"
        target = 100.0 if phase == "contract" else 0.0
        if phase == "contract" and self.cal_kind == "submax":
            target = float(self.reference_level_pct or 50.0)
        st.phase, st.cue, st.message, st.rep = cue_phase, text, msg, 0
        st.stage = STAGE_REST if phase in ("prepare", "rest") else STAGE_REFERENCE
        self.cue = Cue(
            phase=cue_phase,
            target_pct=target,
            channel=0,
            targets=tuple((c, target) for c in range(self.n_channels)),
            text=text,
        )
        self._emit(ev.CALIBRATION_PHASE, t, phase=phase, contraction=self.contraction, text=text, message=msg)
        self._emit(ev.CUE, t, **self.cue.to_dict())
        if phase == "contract":
            self._ref.append([])
            self._ref_bad.append([])

    def update(
        self,
        t_s: float,
        envelope_uv: np.ndarray,
        flags: np.ndarray | None = None,
        accel_g: np.ndarray | None = None,
        *,
        accel: np.ndarray | None = None,
    ) -> list[DrillEvent]:
        """Feed one chunk of envelope (C, n) in uV; ``t_s`` is the time of its first sample."""
        env = np.asarray(envelope_uv, dtype=np.float64)
        if env.ndim != 2 or env.shape[0] != self.n_channels:
            raise SignalError(f"calibration got an envelope of shape {env.shape}, expected ({self.n_channels}, n)")
        if flags is not None and np.shape(flags) != env.shape:
            raise SignalError(f"calibration got flags of shape {np.shape(flags)} for an envelope of {env.shape}")
        self._events = []
        if self.finished or self._paused:
            return []
        t0 = float(t_s) - self._offset_s
        if self._resume_pending:
            self._resume_pending = False
            if self._last_t is not None:
                gap = t0 - (self._last_t + self.dt_s)
                if gap > 0:
                    self._offset_s += gap
                    t0 -= gap
            if self._started and not self.finished:
                self._restart_phase(t0)
        if not self._started:
            self._started = True
            self._emit(
                ev.DRILL_START,
                t0,
                kind="calibration",
                name="Calibration",
                calibration_kind=self.cal_kind,
                n_contractions=self.n_contractions,
                rest_s=self.rest_s,
                contraction_s=self.contraction_s,
            )
            self._enter(t0, "prepare", self.prepare_s)
        n = env.shape[1]
        bits, per = self.gate.sample_bits(env, None if flags is None else np.asarray(flags))
        bits_l, per_l = bits.tolist(), per.T.tolist()
        t = t0
        for i in range(n):
            if self.finished:
                break
            t = t0 + i * self.dt_s
            change = self.gate.step(t, bits_l[i], per_l[i], self.dt_s)
            if change:
                self._emit(change["label"], t, **change["data"])
            self._advance(t)
            if self.finished:
                break
            if self.phase == "rest":
                if not bits_l[i]:
                    self._rest.append(env[:, i])
            elif self.phase == "contract":
                self._ref[-1].append(env[:, i])
                self._ref_bad[-1].append(per[:, i] != 0)
        if n == 0:
            self._advance(t0)
        else:
            t = t0 + (n - 1) * self.dt_s
            self._last_t = t
        if not self.finished:
            self.state.countdown_s = max(0.0, self._phase_dur - (t - self._phase_t))
        self.state.gating_message = self.gate.display_message(t)
        return list(self._events)

    def _advance(self, t: float) -> None:
        while not self.finished and t - self._phase_t >= self._phase_dur - EPS:
            end = self._phase_t + self._phase_dur
            if self.phase == "prepare":
                self._enter(end, "rest", self.rest_s)
            elif self.phase == "rest" or self.phase == "between":
                self.contraction += 1
                self._enter(end, "contract", self.contraction_s)
            elif self.phase == "contract":
                x, b = self._contraction_arrays(len(self._ref) - 1)
                peaks = np.array([np.nan if p is None else p for p in self._window_peaks(x, b)])
                self._best_uv = np.fmax(self._best_uv, peaks)
                if self.contraction >= self.n_contractions:
                    self._compute(end)
                else:
                    self._enter(end, "between", self.between_s)

    def _contraction_arrays(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Contraction ``k`` (0-based): its envelope (C, m) and artefact mask (C, m)."""
        samples, bad = self._ref[k], self._ref_bad[k]
        x = np.column_stack(samples) if samples else np.zeros((self.n_channels, 0))
        b = np.column_stack(bad) if bad else np.zeros((self.n_channels, 0), bool)
        return x, b

    def _window_peaks(self, x: np.ndarray, b: np.ndarray) -> list[float | None]:
        """Per channel the highest mean over a clean REFERENCE_WINDOW_S window of one contraction (None: none)."""
        window = max(1, int(round(REFERENCE_WINDOW_S * self.fs_hz)))
        per: list[float | None] = []
        for c in range(self.n_channels):
            xc = np.where(b[c] | ~np.isfinite(x[c]), np.nan, x[c])
            if xc.size < window:
                per.append(None)
                continue
            cs = np.concatenate([[0.0], np.cumsum(np.nan_to_num(xc))])
            cn = np.concatenate([[0], np.cumsum(np.isnan(xc))])
            means = (cs[window:] - cs[:-window]) / window
            ok = (cn[window:] - cn[:-window]) == 0
            per.append(float(means[ok].max()) if ok.any() else None)
        return per

    def _best_reference(self, floor: np.ndarray) -> tuple[np.ndarray, list[float | None], list[list[float | None]]]:
        """Per channel the best contraction's envelope (C, m) and its index; clean 0.5 s peak means (N x C)."""
        rows = [self._contraction_arrays(k) for k in range(len(self._ref))]
        scores: list[list[float | None]] = [self._window_peaks(x, b) for x, b in rows]
        best_idx: list[float | None] = []
        m = min(x.shape[1] for x, _ in rows)
        ref = np.zeros((self.n_channels, m))
        for c in range(self.n_channels):
            cands = [(s[c], k) for k, s in enumerate(scores) if s[c] is not None]
            if not cands:
                best_idx.append(None)
                ref[c] = np.nan
                continue
            _, k = max(cands)
            best_idx.append(k + 1)
            x, b = rows[k]
            row = x[c, :m].copy()
            row[b[c, :m] | ~np.isfinite(row)] = floor[c]  # a flagged sample cannot raise the reference
            ref[c] = row
        return ref, best_idx, scores

    def _compute(self, t: float) -> None:
        self.phase = "done"
        rest = np.column_stack(self._rest) if self._rest else np.zeros((self.n_channels, 0))
        meta = {
            **self.meta,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "n_contractions": self.n_contractions,
            "contraction_s": self.contraction_s,
            "rest_s": self.rest_s,
        }
        floor = rest.mean(axis=1) if rest.shape[1] else np.zeros(self.n_channels)
        ref, best, scores = self._best_reference(floor)
        self.best_contraction = best
        self.contraction_levels_uv = scores
        try:
            if rest.shape[1] < max(2, int(0.5 * self.rest_s * self.fs_hz)):
                raise CalibrationRefused(
                    f"only {rest.shape[1] / self.fs_hz:.1f} s of the {self.rest_s:g} s rest was free of artefacts; "
                    "fix the electrodes and leads, then calibrate again"
                )
            missing = [self.channel_names[c] for c in range(self.n_channels) if best[c] is None]
            if missing:
                raise CalibrationRefused(
                    f"no clean reference contraction on {', '.join(missing)}; fix those electrodes and calibrate again"
                )
            meta["best_contraction"] = best
            self.calibration = Calibration.from_envelopes(
                rest,
                ref,
                fs_hz=self.fs_hz,
                envelope=self.envelope,
                channel_names=self.channel_names,
                kind=self.cal_kind,
                reference_level_pct=self.reference_level_pct,
                meta=meta,
            )
            log.info(
                "calibration accepted: reference %s uV, rest floor %s uV, best contraction %s",
                self.calibration.reference_uv.round(2).tolist(),
                self.calibration.rest_floor_uv.round(2).tolist(),
                best,
            )
        except CalibrationRefused as err:
            self.refusal = str(err)
            log.info("calibration refused: %s", err)
        self.finished = True
        st = self.state
        st.finished, st.countdown_s = True, None
        if self.calibration is not None:
            # no success flash: the drill's first frames follow at once and would show it under "Rep 0"
            st.cue, st.phase, st.message = "DONE", "rest", "Calibration saved: reference is clearly above rest"
            self._emit(
                ev.CALIBRATION_DONE,
                t,
                calibration=self.calibration.to_dict(),
                best_contraction=best,
                contraction_levels_uv=scores,
            )
        else:
            st.cue, st.phase, st.message = "REFUSED", "rest", self.refusal or ""
            st.failure, st.failure_reason = True, self.refusal or ""
            self._emit(ev.CALIBRATION_REFUSED, t, reason=self.refusal, contraction_levels_uv=scores)
        self.cue = Cue(phase="rest", target_pct=0.0, channel=0, text=st.cue)
        self._emit(ev.CUE, t, **self.cue.to_dict())
        self._emit(ev.DRILL_END, t, summary=self.summary())

    def restart(self) -> None:
        """Start again from PREPARE on the next update (after a refusal, once the problem is fixed)."""
        self._reset()
        self.state.success = self.state.failure = False

    def summary(self) -> dict[str, Any]:
        """``{kind, accepted, refusal, best_contraction, contraction_levels_uv, calibration}`` (JSON types)."""
        from feedback.events import jsonable

        return jsonable(
            {
                "kind": "calibration",
                "calibration_kind": self.cal_kind,
                "accepted": self.calibration is not None,
                "refusal": self.refusal,
                "rest_s_clean": len(self._rest) * self.dt_s,
                "best_contraction": getattr(self, "best_contraction", None),
                "contraction_levels_uv": getattr(self, "contraction_levels_uv", None),
                "calibration": self.calibration.to_dict() if self.calibration is not None else None,
            }
        )
