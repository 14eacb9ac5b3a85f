"""The part every drill shares: input checks, the clock, pause/stop, artefact gating, cues, events.

A drill is driven by ``update(t_s, activation_pct (C, n), flags (C, n) uint8 | None,
accel_g (3, n) | None)``: ``t_s`` is the session-clock time (s) of the chunk's FIRST sample;
sample ``i`` is at ``t_s + i / fs_hz``. An empty chunk (n = 0) just advances the clock to
``t_s`` (time-based phases move on, countdowns refresh). Subclasses implement ``_start`` and
``_step(t, values, gated)`` where ``values`` are the activation levels (%) of the drill's
channels (``self.channels`` order), or None for a clock tick, and ``gated`` is True when the
sample must not count.

What every drill publishes besides the cue: ``state.reps_planned`` (reps x sets), ``state.failure_reason``
(a few words on why the last rep failed, also the ``failure`` event's ``reason``), ``state.stopped_early``
with the message "Stopped after N of M reps: K succeeded" after Esc. :meth:`Drill.shift_band` is the
therapist's Up/Down: it moves the drill's target band (or its ceiling) and records a ``threshold_change``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dsp.errors import SignalError
from feedback import events as ev
from feedback.drill_config import DrillConfig
from feedback.events import DrillEvent
from feedback.gating import ArtefactGate
from feedback.state import Cue, DrillState

log = logging.getLogger(__name__)

#: a band moved by the therapist stays within 0 <= lo < hi <= BAND_MAX_PCT (% of reference)
BAND_MAX_PCT = 200.0
#: a ceiling moved by the therapist stays within [CEILING_MIN_PCT, BAND_MAX_PCT]: a ceiling of 0 cannot be met
CEILING_MIN_PCT = 1.0


def moved_band(band_pct: tuple[float, float], delta_pct: float) -> tuple[float, float]:
    """``band_pct`` with both edges moved by ``delta_pct``, the move clamped so 0 <= lo < hi <= BAND_MAX_PCT."""
    lo, hi = float(band_pct[0]), float(band_pct[1])
    d = min(max(float(delta_pct), -lo), BAND_MAX_PCT - hi)
    return (lo + d, hi + d) if d else (lo, hi)


def moved_ceiling(ceiling_pct: float, delta_pct: float) -> float:
    """``ceiling_pct`` moved by ``delta_pct`` within [CEILING_MIN_PCT, BAND_MAX_PCT] (never away from that range)."""
    c = float(ceiling_pct)
    new = min(max(c + float(delta_pct), CEILING_MIN_PCT), BAND_MAX_PCT)
    if (delta_pct > 0 and new < c) or (delta_pct < 0 and new > c):
        return c  # already outside the range (a drill file's own value): the key only moves it inward
    return new


class Drill:
    """Base class of the drill state machines (plain Python, no Qt)."""

    kind = ""
    uses_accel = False

    def __init__(
        self, config: DrillConfig, *, fs_hz: float, n_channels: int, channel_names: list[str] | None = None
    ) -> None:
        if not (fs_hz > 0 and math.isfinite(fs_hz)):
            raise SignalError(f"drill sampling rate {fs_hz!r} Hz is not a positive number; pass the board's fs_hz")
        if n_channels < 1:
            raise SignalError(f"drill needs at least one channel (got {n_channels}); check the board's channel list")
        self.config = config
        self.fs_hz = float(fs_hz)
        self.dt_s = 1.0 / self.fs_hz
        self.n_channels = int(n_channels)
        self.channel_names = list(channel_names) if channel_names else [f"ch{i + 1}" for i in range(n_channels)]
        self.channels: list[int] = self._resolve_channels()
        gating = config.params.get("gating", {"flags": (), "void_after_s": 0.5})
        self.gate = ArtefactGate(gating["flags"], self.channels, self.channel_names)
        self.void_after_s = float(gating["void_after_s"])
        self.cue = Cue(channel=self.channels[0], targets=((self.channels[0], 0.0),))
        self._cue_emitted = False
        self.state = DrillState(title=config.name, kind=config.kind, channel=self.channels[0])
        self.finished = False
        self.started = False
        self.stopped_early = False
        self._events: list[DrillEvent] = []
        self._offset_s = 0.0  # session time minus drill time (grows with pauses)
        self._paused_at: float | None = None
        self._t: float | None = None  # drill time of the last processed sample or tick
        self._flash_until = -math.inf
        self._flash_kind = ""
        self._start_t: float | None = None
        self._end_t: float | None = None
        self._accel: np.ndarray | None = None
        self._accel_i = 0

    # ---- to override -------------------------------------------------------------------
    def _resolve_channels(self) -> list[int]:
        raise NotImplementedError

    def _start(self, t: float) -> None:
        raise NotImplementedError

    def _step(self, t: float, values: list[float] | None, gated: bool) -> None:
        raise NotImplementedError

    def _refresh_state(self, t: float) -> None:
        """Update ``self.state`` fields that depend on the time (countdowns)."""

    def _before_stop(self, t: float) -> None:
        """Record what is still open (a rep waiting for relaxation) before an early stop."""

    def _shift_band(self, t: float, delta_pct: float) -> None:
        """Move the target band or ceiling by ``delta_pct`` (emit ``threshold_change``); default: nothing to move."""

    def _done_counts(self) -> tuple[int, int]:
        """(reps attempted, reps succeeded) for the closing message."""
        return int(getattr(self, "attempted", 0)), int(getattr(self, "succeeded", 0))

    def summary(self) -> dict[str, Any]:
        """The drill's results as JSON types (reps attempted and succeeded, per-rep metrics, ...)."""
        raise NotImplementedError

    # ---- helpers for subclasses ----------------------------------------------------------
    def _n(self, duration_s: float) -> int:
        """Number of samples that make up ``duration_s`` (at least 1 for a positive duration)."""
        return max(0, math.ceil(duration_s * self.fs_hz - 1e-6))

    def _emit(self, label: str, t: float, **data: Any) -> DrillEvent:
        event = DrillEvent(label, t + self._offset_s, data)
        self._events.append(event)
        log.debug("drill event %s at %.3f s: %s", label, event.t_s, event.data)
        return event

    def _set_cue(
        self,
        t: float,
        phase: str,
        text: str,
        *,
        target_pct: float = 0.0,
        channel: int | None = None,
        band_pct: tuple[float, float] | None = None,
        targets: tuple[tuple[int, float], ...] | None = None,
    ) -> None:
        ch = self.channels[0] if channel is None else channel
        cue = Cue(
            phase=phase,
            target_pct=float(target_pct),
            channel=ch,
            band_pct=band_pct,
            targets=targets if targets is not None else ((ch, float(target_pct)),),
            text=text,
        )
        self.state.phase, self.state.cue = phase, text
        if cue != self.cue or not self._cue_emitted:
            self.cue = cue
            self._cue_emitted = True
            self._emit(ev.CUE, t, **cue.to_dict())

    def _count_result(self, t: float, result: str, failure_reason: str, gated_s: float | None) -> None:
        """Count a finished rep or trial (success / failure / void), emit its event and flash the view.
        ``failure_reason`` (a few words a patient understands) goes into the ``failure`` event and the state."""
        self.attempted += 1
        self.state.failure_reason = failure_reason if result == "failure" else ""
        if result == "success":
            self.succeeded += 1
            self._emit(ev.SUCCESS, t, set=self.set_index, rep=self.rep)
            self._flash(t, "success", self.flash_s)
        elif result == "failure":
            self._emit(ev.FAILURE, t, set=self.set_index, rep=self.rep, reason=failure_reason)
            self._flash(t, "failure", self.flash_s)
        else:
            self.voided += 1
            self._emit(ev.REP_VOID, t, set=self.set_index, rep=self.rep, gated_s=gated_s)
        self.state.attempted, self.state.successes = self.attempted, self.succeeded

    def _record_rep_end(self, t: float, metrics: dict[str, Any], rest: Callable[[float, float], None]) -> None:
        """Record a finished rep, close its set where it was the last one (finishing the drill after the last
        set), and start the rest that follows: ``rest(t, duration_s)``, ``set_rest_s`` between sets."""
        self.results.append(metrics)
        self._emit(ev.REP_END, t, **metrics)
        if self.rep < self.reps_per_set:
            rest(t, self.rest_s)
            return
        done = [r for r in self.results if r["set"] == self.set_index]
        succeeded = sum(1 for r in done if r["result"] == "success")
        self._emit(ev.SET_END, t, set=self.set_index, attempted=len(done), succeeded=succeeded)
        if self.set_index >= self.sets:
            self._finish(t)
            return
        self.state.message = (
            f"Set {self.set_index} done: {succeeded} of {len(done)} reps. Rest before set {self.set_index + 1}"
        )
        self.set_index += 1
        self.rep = 0
        self._emit(ev.SET_START, t, set=self.set_index)
        rest(t, self.set_rest_s)

    def _flash(self, t: float, kind: str, duration_s: float) -> None:
        self._flash_until, self._flash_kind = t + duration_s, kind

    def _finish(self, t: float) -> None:
        if self.finished:
            return
        self._set_cue(t, "rest", "DONE", channel=self.channels[0])
        self.finished = True
        self._end_t = t
        self.state.finished = True
        self.state.countdown_s = None
        attempted, succeeded = self._done_counts()
        if self.stopped_early:
            self.state.stopped_early = True
            self.state.message = f"Stopped after {attempted} of {self.state.reps_planned} reps: {succeeded} succeeded"
        else:
            self.state.message = f"Done: {succeeded} of {attempted} reps succeeded"
        self._emit(ev.DRILL_END, t, summary=self.summary())

    # ---- public API ---------------------------------------------------------------------
    def update(
        self,
        t_s: float,
        activation_pct: np.ndarray,
        flags: np.ndarray | None = None,
        accel_g: np.ndarray | None = None,
        *,
        accel: np.ndarray | None = None,
    ) -> list[DrillEvent]:
        """Feed one chunk; return the events it caused (JSON-serialisable, session-clock times).

        ``activation_pct`` (C, n) in % of reference; ``flags`` (C, n) uint8 dsp.quality bits or
        None; ``accel_g`` (3, n) in g or None (``accel=`` is the same, as docs/ARCHITECTURE.md names
        it). ``t_s`` is the time of the first sample (s).
        """
        if accel_g is None:
            accel_g = accel
        act = np.asarray(activation_pct, dtype=np.float64)
        if act.ndim != 2 or act.shape[0] != self.n_channels:
            raise SignalError(
                f"drill got activation of shape {act.shape}, expected ({self.n_channels}, n) "
                "channels x samples; pass the whole session's channels"
            )
        n = act.shape[1]
        if flags is not None:
            flags = np.asarray(flags)
            if flags.shape != act.shape:
                raise SignalError(
                    f"drill got flags of shape {flags.shape} for activation {act.shape}; "
                    "pass one flag word per channel and sample (or None)"
                )
        if accel_g is not None:
            accel_g = np.asarray(accel_g, dtype=np.float64)
            if accel_g.ndim != 2 or accel_g.shape[0] != 3 or accel_g.shape[1] != n:
                raise SignalError(
                    f"drill got accel of shape {accel_g.shape}, expected (3, {n}); "
                    "pass the board's three accelerometer rows for this chunk (or None)"
                )
        self._events = []
        if self.finished or self._paused_at is not None:
            return []
        t0 = float(t_s) - self._offset_s
        if not self.started:
            self.started = True
            self._start_t = t0
            self._emit(
                ev.DRILL_START,
                t0,
                kind=self.kind,
                name=self.config.name,
                channels=[self.channel_names[c] for c in self.channels],
                config=self.config.to_dict(),
            )
            self.state.message, self.state.failure_reason = "", ""  # nothing left over from before the drill
            self._start(t0)
        if n == 0:
            self._t = t0
            self._step(t0, None, False)
        else:
            bits, per = self.gate.sample_bits(act, flags)
            values = act[self.channels].T.tolist()
            bits_l = bits.tolist()
            per_l = per.T.tolist()
            self._accel = accel_g
            for i in range(n):
                if self.finished:
                    break
                t = t0 + i * self.dt_s
                self._t = t
                change = self.gate.step(t, bits_l[i], per_l[i], self.dt_s)
                if change:
                    self._emit(change["label"], t, **change["data"])
                self._accel_i = i
                self._step(t, values[i], bool(bits_l[i]))
            self._accel = None
        self._publish(self._t)
        return list(self._events)

    def _publish(self, t: float | None) -> None:
        if t is None:
            return
        self.state.success = t < self._flash_until and self._flash_kind == "success"
        self.state.failure = t < self._flash_until and self._flash_kind == "failure"
        self.state.gating_message = self.gate.display_message(t)
        if not self.finished:
            self._refresh_state(t)

    def pause(self, t_s: float) -> list[DrillEvent]:
        """Freeze the drill (timers stop) until :meth:`resume`; updates meanwhile are ignored."""
        if self._paused_at is not None or self.finished:
            return []
        self._paused_at = float(t_s)
        self.state.paused = True
        self._events = []
        self._emit(ev.PAUSE, float(t_s) - self._offset_s)
        return list(self._events)

    def resume(self, t_s: float) -> list[DrillEvent]:
        """Continue after :meth:`pause`; phase timers resume where they stopped."""
        if self._paused_at is None:
            return []
        self._offset_s += float(t_s) - self._paused_at
        self._paused_at = None
        self.state.paused = False
        self._events = []
        self._emit(ev.RESUME, float(t_s) - self._offset_s)
        return list(self._events)

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def shift_band(self, t_s: float, delta_pct: float) -> list[DrillEvent]:
        """The therapist's Up/Down (+5 / -5): move the drill's target band by ``delta_pct`` (both edges,
        clamped to 0 <= lo < hi <= 200; a ceiling for down-training and isolation's quiet channel) from now on.

        ``t_s`` is session-clock time, as in :meth:`update`. Updates the state at once and returns the
        ``threshold_change`` events (``{"name": "band_pct" | "ceiling_pct", "old_pct", "new_pct", "reason":
        "therapist"}``) to record; [] when the drill has nothing to move, is over, or is already at the limit.
        Deterministic: the same calls at the same times give the same drill.
        """
        if self.finished or not math.isfinite(float(delta_pct)):
            return []
        self._events = []
        now = self._paused_at if self._paused_at is not None else float(t_s)
        t = now - self._offset_s
        self._shift_band(t, float(delta_pct))
        return list(self._events)

    def stop(self, t_s: float) -> list[DrillEvent]:
        """End the drill now (Esc): emits ``stop`` and ``drill_end`` with the summary so far."""
        if self.finished:
            return []
        self._events = []
        if self._paused_at is not None:
            self.resume(t_s)
            self._events = []
        t = float(t_s) - self._offset_s
        if not self.started:
            self.started, self._start_t = True, t
        self.stopped_early = True
        self._emit(ev.STOP, t)
        self._before_stop(t)
        self._finish(t)
        return list(self._events)

    def _base_summary(self) -> dict[str, Any]:
        duration = (self._end_t if self._end_t is not None else (self._t or 0.0)) - (self._start_t or 0.0)
        return {
            "kind": self.kind,
            "name": self.config.name,
            "channels": [self.channel_names[c] for c in self.channels],
            "finished": self.finished,
            "stopped_early": self.stopped_early,
            "duration_s": round(max(duration, 0.0), 6),
            "artefact_s": round(self.gate.gated_total_s, 6),
            "artefact_spells": self.gate.spells,
        }
