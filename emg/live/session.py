"""One biofeedback session: board -> live chain -> calibration -> drill -> view, all of it recorded.

:class:`Session` runs the loop and ties the parts: the board and its recording parts with the session clock
(:mod:`emg.live.parts`; every drill event goes into the recording at its sample, so analysis can replay and
score the same drill), a :class:`dsp.live.LiveChain` (filters, envelope, % of reference, quality flags), the
stages (:mod:`emg.live.stages`: calibrating, then the drill), what the patient sees and hears
(:mod:`emg.live.screen`) and the progress lines and summary (:mod:`emg.live.reporting`).

Headless (no display, or asked for): the same loop renders offscreen; at the end the session writes the
summary JSON and a PNG of the final frame beside the recording. A board lost mid-session: its recording is
closed whole, the view says so, the drill pauses; headless sessions end, windowed ones wait for R (a new
recording part ``NAME.part2.csv`` continues the drill) or Esc.

A window opens full screen unless ``fullscreen=False`` (then 1280 x 720). Up / Down (the view's
``band_shift_requested``) move the drill's target by +-5 % through :meth:`feedback.drill_base.Drill.shift_band`;
the events are recorded like every drill event, also while the session is paused (the therapist adjusts the
target during a pause as well), never during the calibration. Each channel's signal quality (ok, railed, flat,
noisy, lost, ...) goes to the therapist strip a few times a second.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from emg.errors import BoardError, ConfigError, EmgError
from emg.live.latency import LatencyMeter
from emg.live.parts import RecordingParts, montage
from emg.live.reporting import ProgressLines, SessionResult, session_summary, write_summary
from emg.live.screen import Screen
from emg.live.stages import CalibrationStage, DrillStage
from feedback.calibration_store import check_calibration_fits

if TYPE_CHECKING:
    from dsp.calibration import Calibration
    from dsp.live import LiveChain
    from emg.acquire.acquisition import Acquisition, Chunk
    from feedback.drill_base import Drill
    from feedback.events import DrillEvent
    from feedback.state import Cue
    from feedback.view import FeedbackView

log = logging.getLogger(__name__)

#: seconds the final state (DONE / success) stays on screen before a windowed session closes
LINGER_S = 1.5
#: "calibration accepted" stays on the status line at most this long (s) when the drill does not start a rep sooner
ACCEPTED_STATUS_S = 5.0
#: drill events that mean the drill has started its work (the "calibration accepted" status goes)
WORK_STARTS = ("rep_start", "phase_start")
#: environment variable that caps every session's length in seconds (quick checks of long drills)
MAX_SESSION_ENV = "EMG_SESSION_MAX_S"


def capped_duration_s(duration_s: float | None) -> float | None:
    """``duration_s`` (None: until the drill ends), capped by ``EMG_SESSION_MAX_S`` when that is set.
    ConfigError (one line) when the variable is not a positive number."""
    text = os.environ.get(MAX_SESSION_ENV, "").strip()
    if not text:
        return duration_s
    try:
        cap = float(text)
    except ValueError:
        cap = math.nan
    if not (cap > 0 and math.isfinite(cap)):
        raise ConfigError(f"{MAX_SESSION_ENV}={text!r} is not a positive number of seconds; set e.g. 20 or unset it")
    return cap if duration_s is None else min(duration_s, cap)


class Session:
    """Run one drill on a live board with the view, recording everything.

    ``acquire(part, record_to)`` builds a (not yet started) Acquisition recording to ``record_to``;
    part 1 is the session, later parts follow a reconnect after a lost board. ``calibration``: a
    Calibration, None (calibrate first), or a hook ``calibration(session)`` returning either once the
    board is known. ``on_cue(cue)`` receives every new cue (the simulated patient follows them).
    ``duration_s`` ends the session after that much data even if the drill is not done. ``on_event(event)``
    receives every recorded drill or calibration event; ``on_tick(t_s)`` is called after each processed chunk
    with the session time (the simulated patient answers an awareness question through them). ``fullscreen``:
    a window opens full screen (headless sessions always render at 1280 x 720).
    """

    def __init__(
        self,
        acquire: Callable[[int, Path], Acquisition],
        drill_factory: Callable[[float, int, list[str]], Drill],
        calibration: Calibration | Callable[[Session], Calibration | None] | None,
        *,
        record_to: str | os.PathLike,
        headless: bool = True,
        show_view: bool = True,
        fps_hz: float = 60.0,
        duration_s: float | None = None,
        mains_hz: float | None = 50,
        envelope: str = "adaptive",
        on_cue: Callable[[Cue], None] | None = None,
        tone: bool = False,
        lost_policy: str | None = None,
        linger_s: float | None = None,
        history_s: float = 8.0,
        channels: list[int] | None = None,
        calibration_options: dict[str, Any] | None = None,
        calibration_out: str | os.PathLike | None = None,
        hold_summary_s: float | None = None,
        progress: Callable[[str], None] | None = None,
        lsl: str | None = None,
        lsl_scope: str | None = None,
        fullscreen: bool = False,
        on_event: Callable[[DrillEvent], None] | None = None,
        on_tick: Callable[[float], None] | None = None,
    ) -> None:
        from emg.acquire.lsl import SessionPublisher  # light: pylsl loads only when --lsl is given

        self.drill_factory = drill_factory
        self._calibration_arg = calibration
        self.record_to = Path(record_to)
        if self.record_to.suffix != ".csv":
            self.record_to = self.record_to.with_name(self.record_to.name + ".csv")
        self.fps_hz = float(fps_hz)
        if not (0 < self.fps_hz <= 240):
            raise ConfigError(f"frame rate {fps_hz} is outside 1-240 frames a second; give e.g. --fps 60")
        self.headless = headless
        self.duration_s = float(duration_s) if duration_s else None
        self.parts = RecordingParts(acquire, self.record_to, self.duration_s)
        self.mains_hz, self.envelope = mains_hz, envelope
        self.on_cue = on_cue
        self.on_event, self.on_tick = on_event, on_tick
        self.fullscreen = bool(fullscreen) and not headless
        self.lost_policy = lost_policy or ("end" if headless else "wait")
        self.linger_s = LINGER_S if linger_s is None else float(linger_s)
        # windowed: the end summary stays up until Esc / the window is closed (or this many seconds)
        self.hold_summary_s = (0.0 if headless else math.inf) if hold_summary_s is None else float(hold_summary_s)
        self.channels_arg = list(channels) if channels else None
        self.calibration_options = dict(calibration_options or {})
        self.calibration_out = Path(calibration_out) if calibration_out else None
        self.calibration_meta: dict[str, Any] = {}  # added to a new calibration's meta (patient, muscle)
        self.calibration_source: str | None = None  # where a given calibration came from (summary, errors)
        self._progress = ProgressLines(progress) if progress is not None else None
        self.lsl = SessionPublisher(lsl, lsl_scope)
        self.latency = LatencyMeter()
        self.screen = Screen(self.latency, show_view=show_view, headless=headless, history_s=history_s, tone=tone)
        # built by run()
        self.chain: LiveChain | None = None
        self.stage: CalibrationStage | DrillStage | None = None
        self.cal_stage: CalibrationStage | None = None  # kept once the drill runs (summary)
        self.fs_hz = 0.0
        self.channels: list[int] = []
        self.channel_names: list[str] = []
        self.board_name = ""
        # how it went
        self.board_lost = False
        self.lost_error = ""
        self.stop_reason = ""
        self.dropped_packets = 0
        self.marks = 0
        self.events_recorded = 0
        self._last_cue: Cue | None = None
        self._stop_requested = False
        self._finished_at: float | None = None
        self._accepted_status_until: float | None = None  # session time the "calibration accepted" status goes

    # ------------------------------------------------------------------ what runs now
    @property
    def t_s(self) -> float:
        """Session time (s) just after the last sample received."""
        return self.parts.t_s

    @property
    def samples_total(self) -> int:
        """Samples received, over all recording parts."""
        return self.parts.samples_total

    @property
    def part(self) -> int:
        return self.parts.part

    @property
    def acq(self) -> Acquisition | None:
        """The current recording part's acquisition."""
        return self.parts.acq

    @property
    def in_drill(self) -> bool:
        """True once the drill runs (after the calibration, if there was one)."""
        return isinstance(self.stage, DrillStage)

    @property
    def view(self) -> FeedbackView | None:
        """The patient's screen (None until the session runs, or without a view)."""
        return self.screen.view

    @property
    def drill(self) -> Drill | None:
        return self.stage.drill if isinstance(self.stage, DrillStage) else None

    # ------------------------------------------------------------------ set-up
    def _warm_up(self) -> None:
        """Compile/load the Numba kernels (envelope and % paths) and initialise Qt before the board starts, so
        the first chunks do not queue up behind a one-off start-up cost (it showed as ~0.7 s of latency)."""
        from dsp.calibration import Calibration
        from dsp.live import LiveChain

        chain = LiveChain(250.0, 8, mains_hz=self.mains_hz, envelope=self.envelope)
        chain.process(np.zeros((8, 32)), gaps_at=(0,))
        chain.set_calibration(
            Calibration(
                rest_floor_uv=np.zeros(8),
                rest_sd_uv=np.ones(8),
                reference_uv=np.ones(8),
                channel_names=None,
                fs_hz=250.0,
                envelope=self.envelope,
            )
        )
        chain.process(np.zeros((8, 32)))
        self.screen.warm_up()

    def _setup(self) -> None:
        from dsp.live import LiveChain

        self._warm_up()
        acq = self.parts.open_next()
        self.fs_hz = acq.fs_hz
        used = montage(acq, self.channels_arg)
        self.channels, self.channel_names, self.board_name = used.channels, used.names, used.board_name
        self.lsl.start(
            fs_hz=self.fs_hz, channel_names=used.board_channel_names, muscles=used.muscles, device=self.board_name
        )
        n = len(self.channels)
        self.chain = LiveChain(
            self.fs_hz, n, mains_hz=self.mains_hz, envelope=self.envelope, rail_uv=acq.preset.rail_for_gain(acq.gain)
        )
        acq.update_sidecar(
            filters={"design": self.chain.design.describe(), "envelope": self.envelope, "mains_hz": self.mains_hz},
            session={
                "part": self.part,
                "fps_hz": self.fps_hz,
                "headless": self.headless,
                "channels_used": used.board_channel_names,
            },
        )
        cal = self._calibration_arg(self) if callable(self._calibration_arg) else self._calibration_arg
        if cal is None:
            from feedback.calibration_flow import CalibrationFlow

            flow = CalibrationFlow(
                fs_hz=self.fs_hz,
                n_channels=n,
                channel_names=self.channel_names,
                envelope=self.envelope,
                meta={"board": self.board_name, **self.calibration_meta},
                **self.calibration_options,
            )
            self.stage = self.cal_stage = CalibrationStage(flow)
        else:
            self._use_calibration(cal)
        self.screen.open(
            self.channel_names,
            self.fs_hz,
            self.stage.state,
            fullscreen=self.fullscreen,
            on_pause=self._on_pause,
            on_mark=self._on_mark,
            on_stop=self._on_stop,
            on_resume=self._on_resume,
            on_estimate=self.enter_estimate,
            on_band_shift=self.shift_band,
        )

    def _use_calibration(self, cal: Calibration) -> None:
        """Check the calibration against this session (one line if it does not fit), then start the drill on it."""
        source = f"calibration {self.calibration_source}" if self.calibration_source else "calibration"
        check_calibration_fits(
            cal,
            channel_names=self.channel_names,
            fs_hz=self.fs_hz,
            board=self.board_name,
            envelope=self.envelope,
            source=source,
        )
        self.chain.set_calibration(cal)
        drill = self.drill_factory(self.fs_hz, len(self.channel_names), self.channel_names)
        self.stage = DrillStage(drill, cal)
        self.acq.update_sidecar(drill=drill.config.to_dict(), calibration=cal.to_dict())

    def _calibration_finished(self, stage: CalibrationStage) -> None:
        if stage.flow.calibration is not None:
            stage.save(self.calibration_out or self.record_to.with_name(self.record_to.stem + ".calibration.json"))
            self._use_calibration(stage.flow.calibration)
            self.screen.status("calibration accepted")
            self._accepted_status_until = self.t_s + ACCEPTED_STATUS_S
            return
        self.screen.status("R: calibrate again, Esc: end" if self.lost_policy == "wait" else "", "error")
        if self.lost_policy == "end":
            self.stop_reason = "calibration refused"

    # ------------------------------------------------------------------ events
    def _record(self, label: str, t_s: float | None, data: dict[str, Any]) -> None:
        """An event into the recording at session time ``t_s`` (None: the last sample) and out on LSL."""
        self.lsl.event(label, data)
        self.parts.post(label, t_s, data)
        self.events_recorded += 1

    def _record_events(self, events: list[DrillEvent]) -> None:
        """Record the stage's events (and their progress lines); forward a new cue."""
        for ev in events:
            self._record(ev.label, ev.t_s, ev.data)
            if self._progress is not None:
                self._progress.event(ev)
            if self._accepted_status_until is not None and ev.label in WORK_STARTS and self.in_drill:
                self._clear_accepted_status()
            if self.on_event is not None:
                try:
                    self.on_event(ev)
                except Exception as err:  # noqa: BLE001 - an event listener must not stop a session
                    log.warning("event listener failed: %s", err)
        cue = self.stage.cue if self.stage is not None else None
        if cue is not None and cue != self._last_cue:
            self._last_cue = cue
            if self.on_cue is not None:
                try:
                    self.on_cue(cue)
                except Exception as err:  # noqa: BLE001 - a cue listener must not stop a session
                    log.warning("cue listener failed: %s", err)

    # ------------------------------------------------------------------ keys
    def _on_pause(self, paused: bool) -> None:
        stage = self.stage
        if stage is None or (self.in_drill and stage.finished):
            return
        self._record_events(stage.pause(self.t_s) if paused else stage.resume(self.t_s))
        self.screen.set_frame(stage.state)

    def _on_mark(self) -> None:
        if self.acq is not None and not self.board_lost:
            self.marks += 1
            data = {"n": self.marks, "source": "key"}
            self.acq.mark("mark", data, wait=False)
            self.lsl.event("mark", data)
            self.screen.status(f"mark {self.marks} set")

    def _clear_accepted_status(self) -> None:
        self._accepted_status_until = None
        self.screen.status("")

    def enter_estimate(self, estimate_pct: float) -> None:
        """An awareness estimate (%): digits + Enter in the view, or the simulated patient's answer."""
        submit = getattr(self.drill, "submit_estimate", None)
        if submit is None:
            self.screen.status("this drill asks for no estimate")
            return
        self._record_events(submit(self.t_s, estimate_pct))
        self.screen.set_frame(self.stage.state)

    def shift_band(self, delta_pct: float) -> None:
        """Up / Down: move the drill's target by ``delta_pct`` (recorded); also while paused, not while calibrating."""
        drill = self.drill
        if drill is None:
            self.screen.status("the target can be moved once the drill runs")
            return
        if drill.finished:
            return
        self._record_events(drill.shift_band(self.t_s, float(delta_pct)))
        self.screen.set_frame(self.stage.state)

    def _on_stop(self) -> None:
        self._stop_requested = True

    def _on_resume(self) -> None:
        stage = self.stage
        if isinstance(stage, CalibrationStage) and stage.refusal:
            stage.restart()
            self.screen.status("calibrating again")
        elif self.board_lost:
            self._reconnect()

    def _reconnect(self) -> None:
        """R after a lost board: a new recording part continues the session."""
        try:
            acq = self.parts.open_next()
        except EmgError as err:
            self.screen.status(f"still no board: {err}", "error")
            return
        self.board_lost = False
        self._record_events(self.stage.resume(self.t_s))
        self._record("board_reconnected", None, {"part": self.part})
        drill = self.stage if isinstance(self.stage, DrillStage) else None
        acq.update_sidecar(
            drill=drill.drill.config.to_dict() if drill else None,
            calibration=drill.calibration.to_dict() if drill else None,
            session={"part": self.part, "continues": self.parts.paths[0].name},
        )
        self.screen.status(f"board reconnected: recording part {self.part}")

    # ------------------------------------------------------------------ data
    def process(self, chunk: Chunk) -> None:
        """Raw chunk -> live chain (envelope or % of reference, quality flags) -> stage (events recorded) -> view."""
        t0, c0 = time.perf_counter(), time.thread_time()
        x = chunk.data_uv if len(self.channels) == chunk.data_uv.shape[0] else chunk.data_uv[self.channels]
        self.lsl.raw(x, chunk.timestamps)
        step = self.chain.process(x, gaps_at=chunk.gaps_at)
        self.dropped_packets += int(chunk.dropped)
        t_s = self.parts.take(chunk)
        stage = self.stage
        if isinstance(stage, CalibrationStage):
            settled = self.t_s - self.parts.t0_s > 0.5 or self.part > 1
            act, events = stage.update(t_s, step.envelope_uv, step.flags, settled=settled)
            self._record_events(events)
            if stage.newly_finished():
                self._calibration_finished(stage)
        else:
            act = step.activation_pct
            self.lsl.activation(act, chunk.timestamps)
            self._record_events(stage.update(t_s, act, step.flags, chunk.accel))
            if self._accepted_status_until is not None and self.t_s >= self._accepted_status_until:
                self._clear_accepted_status()
        self.screen.show(act, stage.state, chunk.timestamps, step.flags)
        self.latency.processed(time.perf_counter() - t0, time.thread_time() - c0)
        if self.on_tick is not None:
            self.on_tick(self.t_s)

    def _lose_board(self, err: BoardError) -> None:
        self.board_lost = True
        self.lost_error = str(err)
        log.warning("board lost: %s", err)
        self.parts.close(f"board lost: {err}")  # the recording is closed whole; later events are appended to it
        self._record_events(self.stage.pause(self.t_s))
        self._record("board_lost", None, {"error": str(err), "part": self.part})
        what = "R reconnects, Esc ends" if self.lost_policy == "wait" else "session ends"
        self.screen.status(f"BOARD LOST: no data. Recording {self.parts.paths[-1].name} kept. {what}", "error")
        self.screen.set_frame(self.stage.state)

    # ------------------------------------------------------------------ loop
    def run(self) -> SessionResult:
        """Run until the drill is done, ``duration_s`` passes, Esc, or a lost board ends it."""
        try:
            self._setup()
        except BaseException:
            self.parts.close("session set-up failed")
            self.lsl.close()
            raise
        try:
            self._loop()
        except KeyboardInterrupt:
            self.stop_reason = "interrupted (Ctrl-C)"
        except BaseException as err:
            self.stop_reason = f"error: {err}"
            self.parts.close(self.stop_reason)
            self.lsl.close()
            raise
        return self._finish()

    def _loop(self) -> None:
        period = 1.0 / self.fps_hz
        next_frame = time.perf_counter()
        while True:
            now = time.perf_counter()
            if not self.board_lost:
                try:
                    chunk = self.acq.read(timeout_s=max(0.0, min(next_frame - now, 0.05)))
                except BoardError as err:
                    self._lose_board(err)
                    chunk = None
                if chunk is not None:
                    self.process(chunk)
                    if self.duration_s is not None and self.t_s >= self.duration_s:
                        self.stop_reason = self.stop_reason or f"duration {self.duration_s:g} s reached"
                    if not self.stop_reason and time.perf_counter() < next_frame:
                        continue
            else:
                time.sleep(max(0.0, min(next_frame - time.perf_counter(), 0.05)))
            now = time.perf_counter()
            if now >= next_frame:
                self.screen.paint()
                next_frame += period
                if next_frame < now:
                    next_frame = now + period
                self.screen.process_events()
            if self._should_end():
                break

    def _should_end(self) -> bool:
        if self._stop_requested:
            self.stop_reason = self.stop_reason or "stopped by the user (Esc)"
            return True
        if self.stop_reason:
            return True
        if self.board_lost and self.lost_policy == "end":
            self.stop_reason = f"board lost: {self.lost_error}"
            return True
        if not self.board_lost and self.acq is not None and self.acq.finished:
            reason = self.acq.stop_reason or "acquisition finished"
            if reason == "duration reached" and self.duration_s is not None:
                reason = f"duration {self.duration_s:g} s reached"
            self.stop_reason = reason
            return True
        if self.in_drill and self.stage.finished:
            if self._finished_at is None:
                self._finished_at = time.monotonic()
                self.stop_reason = ""
            linger = 0.0 if self.headless else self.linger_s
            if time.monotonic() - self._finished_at >= linger:
                self.stop_reason = "drill completed"
                return True
        return False

    # ------------------------------------------------------------------ end
    def summary(self) -> dict[str, Any]:
        """Reps attempted/succeeded, per-rep metrics, latency, time budget, recording parts."""
        return session_summary(self)

    def _drain(self) -> None:
        """Process chunks still queued when the session ends (they are in the recording already)."""
        if self.acq is None:
            return
        while True:
            try:
                chunk = self.acq.read(timeout_s=0.0)
            except BoardError:
                return
            if chunk is None:
                return
            self.process(chunk)

    def _finish(self) -> SessionResult:
        self._drain()  # chunks already received count for the drill
        if isinstance(self.stage, DrillStage):
            self._record_events(self.stage.stop(self.t_s))
        self.screen.stop_tone()
        self.parts.close(self.stop_reason or "stopped")
        self._drain()  # what the board still held at stop is in the recording: process it too (the drill is over)
        self.parts.flush_events()  # events after the close are in the sidecar (written late by the recording's writer)
        self.screen.paint()  # the last samples reach the screen (and the latency figures)
        summary = self.summary()
        summary_path = self.record_to.with_name(self.record_to.stem + ".summary.json")
        png_path = self.record_to.with_name(self.record_to.stem + ".png") if self.view is not None else None
        summary["summary_file"] = str(summary_path)
        summary["frame_png"] = str(png_path) if png_path else None
        if png_path is not None:
            png_path = self.screen.end(self.stage.state, summary, png_path, clear_status=not self.board_lost)
            summary["frame_png"] = str(png_path) if png_path else None
        write_summary(summary_path, summary)
        self.screen.hold(self.hold_summary_s, say_over=not self.board_lost)
        self.lsl.close()
        return SessionResult(
            summary=summary,
            recordings=list(self.parts.paths),
            summary_path=summary_path,
            frame_png=png_path,
            board_lost=self.board_lost,
            error=self.lost_error,
        )
