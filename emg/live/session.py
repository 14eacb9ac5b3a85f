"""One biofeedback session: board -> EmgPipeline -> Calibration -> drill -> view, all of it recorded.

:class:`Session` ties an :class:`~emg.acquire.acquisition.Acquisition` (which records every board row as
it arrives), the streaming :class:`dsp.pipeline.EmgPipeline`, a :class:`dsp.calibration.Calibration`,
a drill state machine (:mod:`feedback.drills`) and the live :class:`feedback.view.FeedbackView`.
Every drill event (cues, rep starts/ends, successes, threshold changes, artefact flags) goes into
the recording's events at the sample it happened, so analysis can replay and score the same drill.

Clock: the session time of a sample is its index since the start of the session divided by the
board rate (``t_s = sample / fs_hz``), so drill times and recording samples agree exactly.

Headless (no display, or asked for): the same loop renders offscreen; at the end the session writes
the summary JSON (reps attempted and succeeded, per-rep metrics, ``latency_ms`` p50/p95/max, ...)
and a PNG of the final frame beside the recording.

A board lost mid-session: the recording is closed whole by the acquisition, the view says so, the
drill pauses; headless sessions end cleanly, windowed ones wait for R (reconnect: a new recording
part ``NAME.part2.csv`` continues the same drill) or Esc (end).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from emg.errors import BoardError, ConfigError, EmgError, RecordingError
from emg.live.events import EventWriter
from emg.live.latency import LatencyMeter
from feedback.events import jsonable

log = logging.getLogger(__name__)

#: dsp.quality bit for dropped packets (set on the first sample of a chunk that follows a gap)
DROPPED_FLAG = 32
#: seconds the final state (DONE / success) stays on screen before a windowed session closes
LINGER_S = 1.5


def display_problem() -> str | None:
    """Why no window can be opened here (None when one can): checked before Qt, which aborts the
    whole process when its platform plugin cannot load."""
    import sys

    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith("offscreen"):
        return "QT_QPA_PLATFORM=offscreen"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display: DISPLAY and WAYLAND_DISPLAY are unset"
    if sys.platform.startswith("linux") and os.environ.get("DISPLAY") and platform in ("", "xcb") \
            and not os.environ.get("WAYLAND_DISPLAY"):
        import ctypes.util

        if ctypes.util.find_library("xcb-cursor") is None:
            return "Qt's X11 plugin needs libxcb-cursor0 (install it: apt-get install libxcb-cursor0)"
    return None


def headless_needed(asked: bool = False) -> bool:
    """True when the session must render offscreen: asked for, no usable display, or offscreen forced."""
    if asked:
        return True
    problem = display_problem()
    if problem:
        log.info("rendering offscreen: %s", problem)
    return problem is not None


# --------------------------------------------------------------------------- calibration files


def load_calibration(path: str | os.PathLike) -> Any:
    """A :class:`dsp.calibration.Calibration` from a JSON file; ConfigError (one line) if unreadable."""
    from dsp.calibration import Calibration
    from dsp.errors import SignalError

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"calibration file {p} not found; give the file written by a calibration run") from None
    except IsADirectoryError:
        raise ConfigError(f"calibration {p} is a folder; give the calibration JSON file inside it") from None
    except OSError as err:
        raise ConfigError(f"cannot read calibration file {p} ({err.strerror}); check the path and permissions") from None
    except UnicodeDecodeError:
        raise ConfigError(f"calibration file {p} is not a text (JSON) file; give the .json written by a "
                          "calibration run") from None
    try:
        return Calibration.from_json(text)
    except SignalError as err:
        raise ConfigError(f"calibration file {p}: {err}") from None


def check_calibration(calibration: Any, *, channel_names: list[str], fs_hz: float, board_name: str,
                      envelope: str) -> None:
    """ConfigError when a calibration was made on another board, rate, envelope or channel layout."""
    n = len(channel_names)
    cal_n = int(np.asarray(calibration.reference_uv).shape[0])
    if cal_n != n:
        raise ConfigError(f"calibration has {cal_n} channels but board {board_name} gives {n}; "
                          "calibrate again with this board and montage")
    cal_names = list(getattr(calibration, "channel_names", []) or [])
    if cal_names and cal_names != list(channel_names):
        raise ConfigError(f"calibration channels {', '.join(cal_names)} differ from this session's "
                          f"{', '.join(channel_names)}; calibrate again with this montage (or use the same --muscles)")
    if abs(float(calibration.fs_hz) - float(fs_hz)) > 1e-6:
        raise ConfigError(f"calibration was made at {calibration.fs_hz:g} Hz but board {board_name} runs at {fs_hz:g} Hz; "
                          "calibrate again on this board")
    cal_board = (getattr(calibration, "meta", {}) or {}).get("board")
    if cal_board and str(cal_board) != str(board_name):
        raise ConfigError(f"calibration was made on board {cal_board}, this session uses {board_name}; "
                          "calibrate again on this board")
    cal_env = getattr(calibration, "envelope", envelope)
    if cal_env != envelope:
        raise ConfigError(f"calibration used the {cal_env} envelope, this session the {envelope} envelope; "
                          f"run with --envelope {cal_env} or calibrate again")


# --------------------------------------------------------------------------- outputs


@dataclass
class SessionResult:
    """What a finished session produced."""

    summary: dict[str, Any]
    recordings: list[Path] = field(default_factory=list)
    summary_path: Path | None = None
    frame_png: Path | None = None
    board_lost: bool = False  # the board was lost and not reconnected: the session ended on it
    error: str = ""


def part_path(base_csv: Path, part: int) -> Path:
    """Recording path of part ``part`` (1 -> NAME.csv, 2 -> NAME.part2.csv, ...)."""
    if part <= 1:
        return base_csv
    return base_csv.with_name(f"{base_csv.stem}.part{part}{base_csv.suffix}")


def _quality_monitor(fs_hz: float, n_channels: int, rail_uv: float | None) -> Any | None:
    try:
        from dsp.quality import QualityMonitor
    except ImportError:
        log.info("dsp.quality not available: no artefact flags this session")
        return None
    kwargs = {"rail_uv": rail_uv} if rail_uv else {}
    return QualityMonitor(fs_hz, n_channels, **kwargs)


# --------------------------------------------------------------------------- the session


class Session:
    """Run one drill on a live board with the view, recording everything.

    ``acquire(part, record_to)`` builds a (not yet started) Acquisition recording to ``record_to``;
    part 1 is the session, later parts follow a reconnect after a lost board.
    ``on_cue(cue)`` receives every new drill cue (the simulated patient follows them).
    ``duration_s`` ends the session after that much data even if the drill is not done.
    """

    def __init__(
        self,
        acquire: Callable[[int, Path], Any],
        drill_factory: Callable[[float, int, list[str]], Any],
        calibration: Any | Callable[[Any], Any],
        *,
        record_to: str | os.PathLike,
        headless: bool = True,
        show_view: bool = True,
        fps_hz: float = 60.0,
        duration_s: float | None = None,
        mains_hz: float | None = 50,
        envelope: str = "adaptive",
        on_cue: Callable[[Any], None] | None = None,
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
    ) -> None:
        self.acquire = acquire
        from emg.acquire.lsl import SessionPublisher  # light: pylsl loads only when --lsl is given

        self.lsl = SessionPublisher(lsl, lsl_scope)
        self.drill_factory = drill_factory
        self._calibration_arg = calibration
        self.record_to = Path(record_to)
        if self.record_to.suffix != ".csv":
            self.record_to = self.record_to.with_name(self.record_to.name + ".csv")
        self.headless = headless
        self.show_view = show_view
        self.fps_hz = float(fps_hz)
        if not (0 < self.fps_hz <= 240):
            raise ConfigError(f"frame rate {fps_hz} is outside 1-240 frames a second; give e.g. --fps 60")
        self.duration_s = float(duration_s) if duration_s else None
        self.mains_hz = mains_hz
        self.envelope = envelope
        self.on_cue = on_cue
        self.tone_wanted = tone
        self.lost_policy = lost_policy or ("end" if headless else "wait")
        self.linger_s = LINGER_S if linger_s is None else float(linger_s)
        self.history_s = history_s
        self.progress = progress  # one line per cue / result, for a terminal (headless runs)
        self._last_progress_calm = False
        self.channels_arg = list(channels) if channels else None
        self.calibration_options = dict(calibration_options or {})
        self.calibration_out = Path(calibration_out) if calibration_out else None
        self.calibration_meta: dict[str, Any] = {}  # added to a new calibration's meta (patient, muscle)
        self.calibration_source: str | None = None  # where a given calibration came from (shown in the summary)
        # windowed: the end summary stays up until Esc / the window is closed (or this many seconds)
        self.hold_summary_s = (0.0 if headless else math.inf) if hold_summary_s is None else float(hold_summary_s)
        self.stage = "drill"  # or "calibration" while the calibration flow runs
        self.cal_flow: Any = None
        self.calibration_refused = ""
        self.calibration_file: Path | None = None
        self._display_max = None
        self.channels: list[int] = []

        self.latency = LatencyMeter()
        self.acq: Any = None
        self.part = 0
        self.recordings: list[Path] = []
        self.view: Any = None
        self.tone: Any = None
        self.pipeline: Any = None
        self.calibration: Any = None
        self.quality: Any = None
        self.drill: Any = None
        self.fs_hz = 0.0
        self.channel_names: list[str] = []
        self.board_name = ""
        self.samples_total = 0  # samples over all parts
        self._part_t0_s = 0.0  # session time of the current part's first sample
        self._last_cue: Any = None
        self._stop_requested = False
        self._finished_at: float | None = None
        self.board_lost = False
        self.lost_error = ""
        self.stop_reason = ""
        self.dropped_packets = 0
        self.marks = 0
        self.events = EventWriter()
        self._late_events = self.events.late  # part path -> events that came after its recording closed
        self._events_recorded = 0
        self._t_wall0 = 0.0
        self._latency_shown_at = 0.0
        self._latency_index = 0

    # ------------------------------------------------------------------ set-up
    @property
    def t_s(self) -> float:
        """Session time (s) just after the last sample received."""
        return self.samples_total / self.fs_hz if self.fs_hz else 0.0

    def _open_part(self) -> None:
        self.part += 1
        path = part_path(self.record_to, self.part)
        acq = self.acquire(self.part, path)
        acq.start()
        if self.duration_s is not None:  # the recording ends exactly where the session does
            total = int(round(self.duration_s * float(acq.fs_hz)))
            acq.max_samples = max(1, total - self.samples_total)
        self.acq = acq
        self.recordings.append(path)
        self._part_t0_s = self.t_s

    def _warm_up(self) -> None:
        """Compile/load the Numba kernels and initialise Qt before the board starts, so the first
        chunks do not queue up behind a one-off start-up cost (it showed as ~0.7 s of latency)."""
        from dsp.pipeline import EmgPipeline

        EmgPipeline(250.0, 8, mains_hz=self.mains_hz, envelope=self.envelope).process(np.zeros((8, 32)))
        monitor = _quality_monitor(250.0, 8, None)
        if monitor is not None:
            monitor.update(np.zeros((8, 32)))
        if self.show_view:
            from feedback.view import FeedbackView, ensure_app

            ensure_app(self.headless)
            probe = FeedbackView(["warm-up"], 250.0, history_s=1.0)
            probe.push(np.zeros((1, 8)))
            probe.grab()
            probe.deleteLater()

    def _setup(self) -> None:
        from dsp.pipeline import EmgPipeline

        self._warm_up()
        self._open_part()
        acq = self.acq
        self.fs_hz = float(acq.fs_hz)
        n_board = int(acq.n_channels)
        self.channels = self.channels_arg or list(range(n_board))
        bad = [c for c in self.channels if not 0 <= c < n_board]
        if bad:
            raise ConfigError(f"channel {bad[0] + 1} does not exist on board {acq.preset.name} ({n_board} channels); "
                              f"choose channels 1-{n_board}")
        muscles = list(getattr(acq, "muscles", []) or [])
        played = dict(getattr(acq.source, "recording_meta", {}) or {})  # playback: the recording's own labels
        if not any(muscles) and played.get("muscles"):
            muscles = list(played["muscles"])
        names = [muscles[c] if c < len(muscles) and muscles[c] else acq.channel_names[c] for c in self.channels]
        self.channel_names = names
        self.board_name = str(played.get("board_name") or getattr(acq.source, "board_name", "") or acq.preset.name)
        self.lsl.start(fs_hz=self.fs_hz, channel_names=[acq.channel_names[c] for c in self.channels],
                       muscles=[muscles[c] if c < len(muscles) else "" for c in self.channels], device=self.board_name)
        n = len(self.channels)
        self.pipeline = EmgPipeline(self.fs_hz, n, mains_hz=self.mains_hz, envelope=self.envelope)
        self.quality = _quality_monitor(self.fs_hz, n, acq.preset.rail_for_gain(acq.gain))
        acq.update_sidecar(
            filters={"design": self.pipeline.design.describe(), "envelope": self.envelope, "mains_hz": self.mains_hz},
            session={"part": self.part, "fps_hz": self.fps_hz, "headless": self.headless,
                     "channels_used": [acq.channel_names[c] for c in self.channels]},
        )
        cal = self._calibration_arg(self) if callable(self._calibration_arg) else self._calibration_arg
        if cal is None:
            from feedback.calibration_flow import CalibrationFlow

            self.stage = "calibration"
            self.cal_flow = CalibrationFlow(fs_hz=self.fs_hz, n_channels=n, channel_names=self.channel_names,
                                            envelope=self.envelope,
                                            meta={"board": self.board_name, **self.calibration_meta},
                                            **self.calibration_options)
            self._display_max = np.full(n, 1e-9)
            first_state = self.cal_flow.state
        else:
            self._use_calibration(cal)
            first_state = self.drill.state
        if self.show_view:
            from feedback.view import FeedbackView, ensure_app

            ensure_app(self.headless)
            self.view = FeedbackView(self.channel_names, self.fs_hz, history_s=self.history_s)
            self.view.pause_toggled.connect(self._on_pause)
            self.view.mark_requested.connect(self._on_mark)
            self.view.stop_requested.connect(self._on_stop)
            self.view.resume_requested.connect(self._on_resume)
            self.view.estimate_entered.connect(self._on_estimate)
            self.view.show()
            self.view.raise_()
            self.view.activateWindow()  # the keys (space, m, Esc) go to the view
            self.view.set_frame(first_state)
            if self.stage == "calibration":
                self.view.set_scale_label("envelope (% of highest so far)")
        if self.tone_wanted:
            from feedback.tone import Tone

            self.tone = Tone()
            if not self.tone.start():
                log.warning("tone requested but unavailable: %s", self.tone.reason)

    def _use_calibration(self, cal: Any) -> None:
        """Check the calibration against this session, then build the drill on it."""
        check_calibration(cal, channel_names=self.channel_names, fs_hz=self.fs_hz, board_name=self.board_name,
                          envelope=self.envelope)
        self.calibration = cal
        self.stage = "drill"
        self.drill = self.drill_factory(self.fs_hz, len(self.channel_names), self.channel_names)
        self.acq.update_sidecar(drill=self.drill.config.to_dict() if hasattr(self.drill, "config") else None,
                                calibration=cal.to_dict() if hasattr(cal, "to_dict") else None)

    def _calibration_finished(self) -> None:
        flow = self.cal_flow
        if flow.calibration is not None:
            path = self.calibration_out or self.record_to.with_name(self.record_to.stem + ".calibration.json")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(flow.calibration.to_json(), encoding="utf-8")
                self.calibration_file = path
            except OSError as err:
                log.warning("could not save the calibration to %s: %s", path, err.strerror)
            self._use_calibration(flow.calibration)
            if self.view is not None:
                self.view.set_status("calibration accepted", "info")
        else:
            self.calibration_refused = flow.refusal or "calibration refused"
            if self.view is not None:
                self.view.set_status("R: calibrate again, Esc: end" if self.lost_policy == "wait" else "", "error")
            if self.lost_policy == "end":
                self.stop_reason = f"calibration refused: {self.calibration_refused}"

    @property
    def active(self) -> Any:
        """The state machine in charge now: the calibration flow, then the drill."""
        return self.cal_flow if self.stage == "calibration" else self.drill

    # ------------------------------------------------------------------ events
    def _record(self, label: str, sample: int, data: dict[str, Any]) -> None:
        """Put an event into the current part's recording at ``sample`` (index within the part)."""
        self.lsl.event(label, data)
        part_samples = self.samples_total - int(round(self._part_t0_s * self.fs_hz))
        sample = max(min(int(sample), part_samples - 1), 0)  # an event at the end sits on the last sample
        self.events.put(self.acq, self.recordings[-1], label, sample, sample / self.fs_hz, data)
        self._events_recorded += 1

    def _record_drill_events(self, events: list[Any]) -> None:
        for ev in events:
            sample = int(round((ev.t_s - self._part_t0_s) * self.fs_hz))
            self._record(ev.label, sample, ev.data)
            if self.progress is not None:
                line = _progress_line(ev)
                if ev.label == "cue":  # REST <-> RELAX flips while the level hovers at the threshold: once
                    calm = line in ("REST", "RELAX")
                    if calm and self._last_progress_calm:
                        line = ""
                    self._last_progress_calm = calm
                if line:
                    self.progress(f"{ev.t_s:7.1f} s  {line}")
        cue = getattr(self.active, "cue", None)
        if cue is not None and cue != self._last_cue:
            self._last_cue = cue
            if self.on_cue is not None:
                try:
                    self.on_cue(cue)
                except Exception as err:  # noqa: BLE001 - a cue listener must not stop a session
                    log.warning("cue listener failed: %s", err)

    def _session_event(self, label: str, data: dict[str, Any] | None = None) -> None:
        part_samples = int(round((self.t_s - self._part_t0_s) * self.fs_hz))
        self._record(label, max(part_samples - 1, 0), data or {})

    # ------------------------------------------------------------------ keys
    def _on_pause(self, paused: bool) -> None:
        if self.stage == "calibration":
            self.cal_flow.paused = paused
            return
        if self.drill is None or self.drill.finished:
            return
        events = self.drill.pause(self.t_s) if paused else self.drill.resume(self.t_s)
        self._record_drill_events(events)
        if self.view is not None:
            self.view.set_frame(self.drill.state)

    def _on_mark(self) -> None:
        if self.acq is not None and not self.board_lost:
            self.marks += 1
            self.acq.mark("mark", {"n": self.marks, "source": "key"})
            self.lsl.event("mark", {"n": self.marks, "source": "key"})
            if self.view is not None:
                self.view.set_status(f"mark {self.marks} set", "info")

    def _on_estimate(self, estimate_pct: float) -> None:
        submit = getattr(self.drill, "submit_estimate", None) if self.stage == "drill" else None
        if submit is None:
            if self.view is not None:
                self.view.set_status("this drill asks for no estimate", "info")
            return
        self._record_drill_events(submit(self.t_s, estimate_pct))
        if self.view is not None:
            self.view.set_frame(self.drill.state)

    def _on_stop(self) -> None:
        self._stop_requested = True

    def _on_resume(self) -> None:
        if self.stage == "calibration" and self.cal_flow.finished and self.cal_flow.calibration is None:
            self.cal_flow.restart()
            self.calibration_refused = ""
            if self.view is not None:
                self.view.set_status("calibrating again", "info")
            return
        if not self.board_lost:
            return
        try:
            self._open_part()
        except EmgError as err:
            self.part -= 1
            if self.view is not None:
                self.view.set_status(f"still no board: {err}", "error")
            return
        self.board_lost = False
        if self.stage == "drill":
            self._record_drill_events(self.drill.resume(self.t_s) if self.drill.paused else [])
        else:
            self.cal_flow.paused = False
        self._session_event("board_reconnected", {"part": self.part})
        self.acq.update_sidecar(drill=self.drill.config.to_dict() if self.drill is not None else None,
                                calibration=self.calibration.to_dict() if hasattr(self.calibration, "to_dict") else None,
                                session={"part": self.part, "continues": str(self.recordings[0].name)})
        if self.view is not None:
            self.view.set_status(f"board reconnected: recording part {self.part}", "info")

    # ------------------------------------------------------------------ data
    def process(self, chunk: Any) -> None:
        """Raw chunk -> activation -> quality flags -> drill (events recorded) -> view."""
        t0, c0 = time.perf_counter(), time.thread_time()
        x = chunk.data_uv if len(self.channels) == chunk.data_uv.shape[0] else chunk.data_uv[self.channels]
        self.lsl.raw(x, chunk.timestamps)
        env = self.pipeline.process(x)
        flags = self.quality.update(x) if self.quality is not None else None
        if chunk.dropped:
            self.dropped_packets += int(chunk.dropped)
            if flags is None:
                flags = np.zeros(env.shape, dtype=np.uint8)
            flags[:, 0] |= DROPPED_FLAG
        t_s = self._part_t0_s + chunk.first_sample / self.fs_hz
        self.samples_total = int(round(self._part_t0_s * self.fs_hz)) + chunk.first_sample + chunk.n_samples
        if self.stage == "calibration":
            flow = self.cal_flow
            self._record_drill_events(flow.update(t_s, env, flags))
            # no reference yet: bars show the envelope against the highest level seen so far (after the
            # filters' first half second, whose start-up transient would set the scale)
            if self.t_s - self._part_t0_s > 0.5 or self.part > 1:
                self._display_max = np.maximum(self._display_max, np.nanmax(env, axis=1))
                act = 100.0 * env / self._display_max[:, None]
            else:
                act = np.zeros_like(env)
            state = flow.state
            if flow.finished and not self.calibration_refused and self.calibration is None:
                self._calibration_finished()
                if self.view is not None and self.calibration is not None:
                    self.view.set_scale_label("activation (% of reference)")
        else:
            act = self.calibration.activation_pct(env)
            self.lsl.activation(act, chunk.timestamps)
            accel = chunk.accel if getattr(self.drill, "uses_accel", False) else None
            self._record_drill_events(self.drill.update(t_s, act, flags, accel))
            state = self.drill.state
        if self.view is not None:
            self.view.push(act)
            self.view.set_frame(state)
            self.latency.samples_shown(chunk.timestamps)
        if self.tone is not None and self.tone.running:
            ch = int(getattr(state, "channel", 0) or 0)
            self.tone.set_level(float(act[ch, -1]) if 0 <= ch < act.shape[0] else 0.0)
        self.latency.processed(time.perf_counter() - t0, time.thread_time() - c0)

    def _frame(self) -> None:
        if self.view is None:
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        painted_at = self.view.paint_now()
        self.latency.frame_painted(painted_at, time.perf_counter() - t0, time.thread_time() - c0)
        now = time.monotonic()
        if now - self._latency_shown_at >= 1.0:  # the last second's latency, shown on screen
            p50, p95, self._latency_index = self.latency.recent_ms(self._latency_index)
            if p50 is not None:
                self.view.set_latency(p50, p95)
            self._latency_shown_at = now

    def _lose_board(self, err: BoardError) -> None:
        self.board_lost = True
        self.lost_error = str(err)
        log.warning("board lost: %s", err)
        # the acquisition has closed the recording whole; the events below are appended to its sidecar
        self.events.flush()
        self.acq.stop(f"board lost: {err}")
        if self.stage == "drill":
            events = self.drill.pause(self.t_s) if not self.drill.finished and not self.drill.paused else []
            self._record_drill_events(events)
        else:
            self.cal_flow.paused = True
        self._session_event("board_lost", {"error": str(err), "part": self.part})
        if self.view is not None:
            kept = self.recordings[-1].name
            what = "R reconnects, Esc ends" if self.lost_policy == "wait" else "session ends"
            self.view.set_status(f"BOARD LOST: no data. Recording {kept} kept. {what}", "error")
            self.view.set_frame(self.active.state)

    # ------------------------------------------------------------------ loop
    def run(self) -> SessionResult:
        """Run until the drill is done, ``duration_s`` passes, Esc, or a lost board ends it."""
        self._t_wall0 = time.monotonic()
        try:
            self._setup()
        except BaseException:
            if self.acq is not None:
                self.acq.stop("session set-up failed")
            self.events.close()
            self.lsl.close()
            raise
        try:
            self._loop()
        except KeyboardInterrupt:
            self.stop_reason = "interrupted (Ctrl-C)"
        except BaseException as err:
            self.stop_reason = f"error: {err}"
            self._close_recording()
            self.events.close()
            self.lsl.close()
            raise
        return self._finish()

    def _loop(self) -> None:
        from feedback.view import process_events

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
                    continue_reading = not self.stop_reason
                    if continue_reading and time.perf_counter() < next_frame:
                        continue
            else:
                time.sleep(max(0.0, min(next_frame - time.perf_counter(), 0.05)))
            now = time.perf_counter()
            if now >= next_frame:
                self._frame()
                next_frame += period
                if next_frame < now:
                    next_frame = now + period
                if self.view is not None:
                    process_events()
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
        if self.drill is not None and self.drill.finished:
            if self._finished_at is None:
                self._finished_at = time.monotonic()
                self.stop_reason = ""
            linger = 0.0 if self.headless else self.linger_s
            if time.monotonic() - self._finished_at >= linger:
                self.stop_reason = "drill completed"
                return True
        return False

    # ------------------------------------------------------------------ end
    def _close_recording(self) -> None:
        self.events.flush()
        if self.acq is not None:
            self.acq.stop(self.stop_reason or "stopped")
        self._write_late_events()

    def _write_late_events(self) -> None:
        """Events that happened after a part's recorder closed (board lost): appended to its sidecar."""
        from emg.recordings.writer import csv_and_sidecar, write_json_atomic

        self.events.flush()
        for csv_path, events in self._late_events.items():
            if not events:
                continue
            _, json_path = csv_and_sidecar(csv_path)
            try:
                meta = json.loads(json_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                log.warning("could not add %d late events to %s: %s", len(events), json_path, err)
                continue
            meta.setdefault("events", []).extend(events)
            write_json_atomic(json_path, meta)
            events.clear()

    def summary(self) -> dict[str, Any]:
        """Reps attempted/succeeded, per-rep metrics, latency, time budget, recording parts."""
        drill_summary = self.drill.summary() if self.drill is not None else {}
        cal_summary = self.cal_flow.summary() if self.cal_flow is not None else None
        timing = self.latency.report()
        out: dict[str, Any] = {
            "reps_attempted": drill_summary.get("reps_attempted"),
            "reps_succeeded": drill_summary.get("reps_succeeded"),
            "reps": drill_summary.get("reps", []),
            "latency_ms": timing["latency_ms"],
            "processing_ms": timing["processing_ms"],
            "frame_ms": timing["frame_ms"],
            "frames": timing["frames"],
            "fps": timing["fps"],
            "busy_pct_of_one_core": timing["busy_pct_of_one_core"],
            "process_cpu_pct_of_one_core": timing["process_cpu_pct_of_one_core"],
            "drill": drill_summary,
            "calibration": cal_summary if cal_summary is not None else {"source": self.calibration_source or "given"},
            "calibration_file": str(self.calibration_file) if self.calibration_file else None,
            "calibration_refused": self.calibration_refused or None,
            "board": self.board_name,
            "fs_hz": self.fs_hz,
            "n_channels": len(self.channel_names),
            "channel_names": self.channel_names,
            "channels_used": [c + 1 for c in self.channels],
            "duration_s": round(self.t_s, 4),
            "samples": self.samples_total,
            "dropped_packets": self.dropped_packets,
            "board_lost": self.board_lost or bool(self.lost_error),  # at any time during the session
            "board_lost_at_end": self.board_lost,
            "board_error": self.lost_error or None,
            "stop_reason": self.stop_reason,
            "recordings": [str(p) for p in self.recordings],
            "events_recorded": self._events_recorded,
            "marks": self.marks,
            "filters": self.pipeline.design.describe() if self.pipeline is not None else None,
            "envelope": self.envelope,
            "headless": self.headless,
            "tone": None if self.tone is None else {"backend": self.tone.backend or None, "reason": self.tone.reason or None},
        }
        return out

    def _hold_summary(self) -> None:
        """Keep the end screen up (windowed) until Esc, the window is closed, or ``hold_summary_s``."""
        from feedback.view import process_events

        if not self.hold_summary_s > 0:
            return
        self._stop_requested = False
        if not self.board_lost:
            self.view.set_status("session over: Esc or close the window", "info")
        self.view.paint_now()
        t_end = time.monotonic() + self.hold_summary_s
        while not self._stop_requested and self.view.isVisible() and time.monotonic() < t_end:
            process_events()
            time.sleep(0.03)

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
        if self.drill is not None and not self.drill.finished:
            self._record_drill_events(self.drill.stop(self.t_s))
        if self.tone is not None:
            self.tone.stop()
        self._close_recording()
        self._drain()  # what the board still held at stop is in the recording: process it too (the drill is over)
        self._write_late_events()
        self._frame()  # the last samples reach the screen (and the latency figures)
        summary = self.summary()
        base = self.record_to
        summary_path = base.with_name(base.stem + ".summary.json")
        png_path = base.with_name(base.stem + ".png") if self.view is not None else None
        summary["summary_file"] = str(summary_path)
        summary["frame_png"] = str(png_path) if png_path else None
        if self.view is not None:
            if not self.board_lost:
                self.view.set_status("")
            self.view.set_frame(self.active.state)
            self.view.show_summary(summary)
            self.view.paint_now()
            try:
                self.view.save_png(str(png_path))
            except OSError as err:
                log.warning("%s", err)
                summary["frame_png"] = png_path = None
        try:
            summary_path.parent.mkdir(parents=True, exist_ok=True)
            summary_path.write_text(json.dumps(jsonable(summary), indent=2, allow_nan=False, default=_json_default) + "\n",
                                    encoding="utf-8")
        except OSError as err:
            raise RecordingError(f"cannot write the session summary {summary_path} ({err.strerror}); "
                                 "the recording is kept") from None
        if self.view is not None and not self.headless:
            self._hold_summary()
            self.view.close()
        self.events.close()
        self.lsl.close()
        return SessionResult(summary=summary, recordings=list(self.recordings), summary_path=summary_path,
                             frame_png=Path(png_path) if png_path else None, board_lost=self.board_lost,
                             error=self.lost_error)


def _progress_line(ev: Any) -> str:
    """A short terminal line for the events a user follows (cues and results), else ''."""
    d = ev.data or {}
    if ev.label == "cue":
        text = str(d.get("text") or d.get("phase") or "").upper()
        band = d.get("band_pct")
        return f"{text}" + (f"  (band {band[0]:g}-{band[1]:g} %)" if band and text in ("CONTRACT", "HOLD") else "")
    if ev.label == "success":
        return f"rep {d.get('rep')}: success"
    if ev.label == "failure":
        return f"rep {d.get('rep')}: missed ({d.get('reason', '')})"
    if ev.label == "calibration_done":
        return "calibration accepted"
    if ev.label == "calibration_refused":
        return f"calibration refused: {d.get('reason')}"
    if ev.label == "threshold_change":
        return f"{d.get('name')} {d.get('old_pct')} -> {d.get('new_pct')} % ({d.get('reason')})"
    if ev.label == "artefact":
        return f"not counting: {d.get('message', '')}"
    return ""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        v = obj.item()
        return None if isinstance(v, float) and not math.isfinite(v) else v
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)
