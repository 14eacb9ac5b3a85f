"""What the patient sees and hears during a session: the view (offscreen when headless) and the tone.

:class:`Screen` draws only what the session gives it and times the drawing (:class:`~emg.live.latency.LatencyMeter`).
Every call is a no-op for what is not there (no view with ``show_view=False``; no tone unless asked for and
an audio output exists), so the session never checks. Qt is imported only when a view is opened.
Each channel's signal quality goes to the view's therapist strip as one word (:func:`quality_words`), at most
:data:`QUALITY_PERIOD_S` apart, from every flag raised since the last report (a brief problem is not missed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dsp.quality.flags import QualityFlag

if TYPE_CHECKING:
    from emg.live.latency import LatencyMeter
    from feedback.state import DrillState
    from feedback.tone import Tone
    from feedback.view import FeedbackView

log = logging.getLogger(__name__)

#: seconds between channel-quality reports to the view
QUALITY_PERIOD_S = 0.25
#: the word for a channel's quality, most serious flag first
QUALITY_WORDS: tuple[tuple[QualityFlag, str], ...] = (
    (QualityFlag.LEAD_OFF, "lost"),
    (QualityFlag.NAN, "lost"),
    (QualityFlag.RAILED, "railed"),
    (QualityFlag.FLAT, "flat"),
    (QualityFlag.DROPPED, "dropped"),
    (QualityFlag.SPIKE, "noisy"),
)


def quality_words(flags_any: np.ndarray) -> list[str]:
    """One word per channel (``"ok"``, ``"lost"``, ``"railed"``, ``"flat"``, ``"dropped"``, ``"noisy"``) from the
    OR of each channel's quality flags (C,) uint8 over a stretch of samples; the most serious flag names it."""
    out = []
    for bits in np.asarray(flags_any, dtype=np.uint8).tolist():
        out.append(next((word for flag, word in QUALITY_WORDS if bits & int(flag)), "ok"))
    return out


class Screen:
    """The session's :class:`feedback.view.FeedbackView` and :class:`feedback.tone.Tone`."""

    def __init__(self, latency: LatencyMeter, *, show_view: bool, headless: bool, history_s: float, tone: bool) -> None:
        self.latency = latency
        self.show_view, self.headless, self.history_s, self.tone_wanted = show_view, headless, history_s, tone
        self.view: FeedbackView | None = None
        self.tone: Tone | None = None
        self._esc = False
        self._latency_shown_at = 0.0
        self._latency_index = 0
        self._quality_bits: np.ndarray | None = None  # OR of the flags since the last report, per channel
        self._quality_at = 0.0
        self._quality_shown: list[str] | None = None

    def warm_up(self) -> None:
        """Initialise Qt and draw once before the board starts (a one-off cost that would show as latency)."""
        if not self.show_view:
            return
        from feedback.view import FeedbackView, ensure_app

        ensure_app(self.headless)
        probe = FeedbackView(["warm-up"], 250.0, history_s=1.0)
        probe.push(np.zeros((1, 8)))
        probe.grab()
        probe.deleteLater()

    def open(
        self,
        channel_names: list[str],
        fs_hz: float,
        state: DrillState,
        *,
        fullscreen: bool,
        on_pause: Callable[[bool], None],
        on_mark: Callable[[], None],
        on_stop: Callable[[], None],
        on_resume: Callable[[], None],
        on_estimate: Callable[[float], None],
        on_band_shift: Callable[[float], None],
    ) -> None:
        """Open the view (full screen or a 1280 x 720 window; the keys go to it: space, m, Esc, R, digits + Enter,
        Up / Down, F11, T) and start the tone if asked for."""
        if self.show_view:
            from feedback.view import FeedbackView, ensure_app

            ensure_app(self.headless)
            view = self.view = FeedbackView(channel_names, fs_hz, history_s=self.history_s)
            view.pause_toggled.connect(on_pause)
            view.mark_requested.connect(on_mark)
            view.stop_requested.connect(on_stop)
            view.stop_requested.connect(self._on_esc)
            view.resume_requested.connect(on_resume)
            view.estimate_entered.connect(on_estimate)
            view.band_shift_requested.connect(on_band_shift)
            view.present(fullscreen)
            view.set_frame(state)
        if self.tone_wanted:
            from feedback.tone import Tone

            self.tone = Tone()
            if not self.tone.start():
                log.warning("tone requested but unavailable: %s", self.tone.reason)

    def _on_esc(self) -> None:
        self._esc = True

    # ------------------------------------------------------------------ while running
    def show(
        self, values_pct: np.ndarray, state: DrillState, timestamps: np.ndarray, flags: np.ndarray | None = None
    ) -> None:
        """One processed chunk: bars and traces (C, n), the state, the channels' quality from ``flags`` (C, n)
        uint8, the tone's pitch (the state's channel)."""
        if self.view is not None:
            self.view.push(values_pct)
            self.view.set_frame(state)
            self.latency.samples_shown(timestamps)
            if flags is not None and flags.size:
                self._quality(flags)
        if self.tone is not None and self.tone.running:
            ch = int(getattr(state, "channel", 0) or 0)
            self.tone.set_level(float(values_pct[ch, -1]) if 0 <= ch < values_pct.shape[0] else 0.0)

    def set_frame(self, state: DrillState) -> None:
        if self.view is not None:
            self.view.set_frame(state)

    def status(self, text: str = "", kind: str = "info") -> None:
        """The status line (paused, board lost, calibration accepted, ...)."""
        if self.view is not None:
            self.view.set_status(text, kind)

    def _quality(self, flags: np.ndarray) -> None:
        bits = np.bitwise_or.reduce(flags, axis=1)
        self._quality_bits = bits if self._quality_bits is None else self._quality_bits | bits
        now = time.monotonic()
        if now - self._quality_at < QUALITY_PERIOD_S:
            return
        words = quality_words(self._quality_bits)
        self._quality_bits, self._quality_at = None, now
        if words != self._quality_shown:
            self._quality_shown = words
            self.view.set_channel_quality(words)

    def paint(self) -> None:
        """Paint one frame (timed); once a second the last second's latency goes to the therapist strip."""
        if self.view is None:
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        painted_at = self.view.paint_now()
        self.latency.frame_painted(painted_at, time.perf_counter() - t0, time.thread_time() - c0)
        now = time.monotonic()
        if now - self._latency_shown_at >= 1.0:
            p50, p95, self._latency_index = self.latency.recent_ms(self._latency_index)
            if p50 is not None:
                self.view.set_latency(p50, p95)
            self._latency_shown_at = now

    def process_events(self) -> None:
        """Let Qt deliver input (keys) and window events."""
        if self.view is not None:
            from feedback.view import process_events

            process_events()

    # ------------------------------------------------------------------ end
    def stop_tone(self) -> None:
        if self.tone is not None:
            self.tone.stop()

    def tone_summary(self) -> dict[str, Any] | None:
        """The tone's backend, or why there was none (None when no tone was asked for)."""
        if self.tone is None:
            return None
        return {"backend": self.tone.backend or None, "reason": self.tone.reason or None}

    def end(self, state: DrillState, summary: dict[str, Any], png_path: Path, *, clear_status: bool) -> Path | None:
        """The end screen (final state and the summary), painted and saved as PNG; the PNG's path, or None."""
        if self.view is None:
            return None
        if clear_status:
            self.view.set_status("")
        self.view.set_frame(state)
        self.view.show_summary(summary)
        self.view.paint_now()
        try:
            self.view.save_png(str(png_path))
        except OSError as err:
            log.warning("%s", err)
            return None
        return png_path

    def hold(self, seconds: float, *, say_over: bool) -> None:
        """Windowed: keep the end screen up until Esc, the window is closed, or ``seconds``; then close it."""
        if self.view is None or self.headless:
            return
        from feedback.view import process_events

        if seconds > 0:
            self._esc = False
            if say_over:
                self.view.set_status("session over: Esc or close the window", "info")
            self.view.paint_now()
            t_end = time.monotonic() + seconds
            while not self._esc and self.view.isVisible() and time.monotonic() < t_end:
                process_events()
                time.sleep(0.03)
        self.view.close()
