"""Acquisition: a board (or stream) delivering channels x samples chunks in microvolts.

:class:`Acquisition` is a context manager around a *sample source*. On entry it opens the source
(prepares and starts the board), optionally opens a :class:`~emg.recordings.writer.RecordingWriter`, and starts
one pump thread that polls the source every ``poll_interval_s`` (10 ms: about 100 chunks a second),
writes every board row to the recording as it arrives, and queues :class:`Chunk` objects for
:meth:`Acquisition.read` / :meth:`Acquisition.chunks`. On exit (or error, or Ctrl-C) the source is
always closed (BrainFlow session released) and the recording's sidecar completed.

Silence watchdog: when a source that should be sending delivers nothing for ``stall_timeout_s``
(0.8 s by default; ``start_timeout_s``, 5 s, for the first sample), :meth:`read` raises
:class:`~emg.errors.BoardError` after the chunks already received, and the pump closes the source
at once (BrainFlow's Cyton read thread would otherwise spin a core). A finite source (playback) that reaches its
end is not an error: ``finished``
becomes true and :meth:`chunks` ends.

Sources follow the small protocol :class:`emg.acquire.sources.SampleSource` (documented there):
:class:`~emg.acquire.sources.BrainFlowSource` for the BrainFlow presets, :class:`~emg.acquire.sources.LslRowsSource`
for ``--board lsl:NAME``; pass any other with ``source=``.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from emg.acquire import brainflow_log
from emg.acquire.boards import BoardPreset, get_preset, preset_for_board_id
from emg.acquire.packets import PackageGaps, package_gaps
from emg.acquire.sources import BrainFlowSource, LslRowsSource, SampleSource
from emg.errors import BoardError, ConfigError, EmgError, RecordingError

__all__ = [
    "Acquisition",
    "Chunk",
    "SampleSource",
    "BrainFlowSource",
    "LslRowsSource",
    "DEFAULT_STALL_TIMEOUT_S",
    "DEFAULT_START_TIMEOUT_S",
]

log = logging.getLogger(__name__)

#: default silence (s) after which a board counts as dead; detection + clean stop stay under 1 s
DEFAULT_STALL_TIMEOUT_S = 0.8
#: grace (s) for the first sample after the stream starts (a board, or a simulated patient, warming up)
DEFAULT_START_TIMEOUT_S = 5.0
#: chunks kept for a consumer that does not read (older ones are dropped, the recording is not)
MAX_QUEUED_CHUNKS = 6000


@dataclass
class Chunk:
    """Samples that arrived together. Arrays are channels x samples, float64."""

    data_uv: np.ndarray  # (C, n) EMG channels in microvolts
    timestamps: np.ndarray  # (n,) unix seconds (board clock)
    rows: np.ndarray  # (R, n) every board row as BrainFlow delivered it
    accel: np.ndarray | None  # (3, n) in g, where the board has an accelerometer
    first_sample: int  # index of the first sample since the start of acquisition
    dropped: int = 0  # packets lost just before/within this chunk (package-number gaps)
    # offsets (in this chunk, ascending) of the samples that follow lost packets (emg.acquire.packets.package_gaps);
    # pass to LiveChain.process(gaps_at=...) to flag them DROPPED
    gaps_at: tuple[int, ...] = ()

    @property
    def n_samples(self) -> int:
        return int(self.data_uv.shape[1])


# --------------------------------------------------------------------------- Acquisition


class Acquisition:
    """Prepare, start, read and always release a board; optionally record everything it sends.

    ``preset_name``: a preset from :mod:`emg.acquire.boards` or ``lsl:NAME``. ``record_to``: PATH(.csv) for
    a recording (raw rows + sidecar); ``muscles``/``channel_names`` label the channels;
    ``max_samples`` ends acquisition after that many samples (``finished`` becomes true);
    ``fast``/``loop``/``allow_truncated`` apply to playback (see :class:`BrainFlowSource`);
    ``source`` overrides the source (any :class:`SampleSource`). ``record_meta`` adds sidecar fields.
    """

    def __init__(
        self,
        preset_name: str = "synthetic",
        *,
        serial_port: str | None = None,
        playback_file: str | os.PathLike | None = None,
        gain: int | None = None,
        record_to: str | os.PathLike | None = None,
        muscles: list[str] | None = None,
        channel_names: list[str] | None = None,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        fast: bool = False,
        loop: bool = False,
        max_samples: int | None = None,
        poll_interval_s: float = 0.01,
        overwrite: bool = False,
        record_meta: dict | None = None,
        source: SampleSource | None = None,
        allow_truncated: bool = False,
    ) -> None:
        if stall_timeout_s <= 0:
            raise ConfigError(f"stall timeout {stall_timeout_s} s must be positive")
        if source is not None:
            self.source = source
        elif (preset_name or "").lower().startswith("lsl:"):
            self.source = LslRowsSource(preset_name)
        else:
            preset = get_preset(preset_name)
            if preset.needs_file and playback_file is None:
                raise ConfigError(
                    "board playback needs a recording file: add --file PATH.csv (one made by `emg record`)"
                )
            if playback_file is not None and not preset.needs_file:
                raise ConfigError(
                    f"a playback file was given but board {preset.name} does not play files; use --board playback"
                )
            if serial_port and not preset.needs_serial_port:
                raise ConfigError(
                    f"board {preset.name} takes no serial port; drop --serial-port, or use --board cyton, "
                    "cyton-daisy or ganglion for a board on that port"
                )
            self.source = BrainFlowSource(
                preset,
                serial_port=serial_port,
                playback_file=playback_file,
                gain=gain,
                fast=fast,
                loop=loop,
                allow_truncated=allow_truncated,
            )
        self._muscles_arg = list(muscles or [])
        self._names_arg = list(channel_names or [])
        twice = sorted({n for n in self._names_arg if self._names_arg.count(n) > 1})
        if twice:
            raise ConfigError(
                f"channel name{'s' if len(twice) > 1 else ''} {', '.join(repr(n) for n in twice)} given twice in "
                "--channels; give each channel its own name"
            )
        self.stall_timeout_s = float(stall_timeout_s)
        self.start_timeout_s = float(start_timeout_s)
        self.poll_interval_s = float(poll_interval_s)
        self.max_samples = int(max_samples) if max_samples else None
        self.record_to = record_to
        self.overwrite = overwrite
        if record_to is not None and not overwrite:  # refuse before the board is prepared
            from emg.recordings.writer import csv_and_sidecar

            for p in csv_and_sidecar(record_to):
                if p.exists():
                    raise RecordingError(
                        f"{p} already exists; choose another --out path (recordings are never overwritten)"
                    )
        self.record_meta = dict(record_meta or {})
        self.recorder = None
        self.samples_received = 0
        self.dropped_packets = 0
        self.finished = False
        self.stop_reason = ""
        self.stall_detected_after_s: float | None = None  # silence measured when the watchdog fired
        self.events: list[dict] = []  # every event, as written to the recording's sidecar
        self._queue: collections.deque[Chunk] = collections.deque(maxlen=MAX_QUEUED_CHUNKS)
        self._cond = threading.Condition()
        self._rec_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: EmgError | None = None
        self._started = False
        self._last_pkg: float | None = None
        self._pkg_step: int | None = None
        self._t_start = 0.0
        self.channel_names: list[str] = []
        self.muscles: list[str] = []

    # -- properties ---------------------------------------------------------------------------
    @property
    def preset(self) -> BoardPreset:
        return self.source.preset

    @property
    def fs_hz(self) -> float:
        return float(self.source.fs_hz)

    @property
    def n_channels(self) -> int:
        return self.preset.n_channels

    @property
    def gains(self) -> list | None:
        return self.source.describe().get("gains")

    @property
    def gain(self) -> int | None:
        g = self.gains
        return g[0] if g else None

    @property
    def error(self) -> EmgError | None:
        return self._error

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> Acquisition:
        if self._started:
            return self
        self.source.open()
        try:
            self._label_channels()
            if self.record_to is not None:
                from emg.recordings.writer import RecordingWriter

                self.recorder = RecordingWriter(self.record_to, self._sidecar_meta(), overwrite=self.overwrite)
        except BaseException:
            self.source.close()
            raise
        self._started = True
        self._t_start = time.monotonic()
        self._last_data_t = self._t_start
        self._thread = threading.Thread(target=self._pump, name="emg-acquisition", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> Acquisition:
        return self.start()

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.stop("interrupted (Ctrl-C)")
        elif exc_type is not None:
            self.stop(f"error: {exc}")
        else:
            self.stop()

    def stop(self, reason: str | None = None) -> None:
        """Stop the pump, fetch what the board still holds, release the board, write the posted events,
        close the recording."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        if self._started and self._error is None and not self.finished:
            try:
                with self._count_lock:
                    self._take(self.source.poll())
            except EmgError as err:
                log.debug("final poll: %s", err)
        self.source.close()
        if not self.stop_reason:
            self.stop_reason = reason or ("error" if self._error else "stopped")
        elif reason and reason.startswith("interrupted"):
            self.stop_reason = reason
        self.flush_events()  # posted events go in before the recording closes
        with self._rec_lock:
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.close(
                    self.stop_reason,
                    dropped_packets=self.dropped_packets,
                    error=str(self._error) if self._error else None,
                )
        with self._cond:
            self._cond.notify_all()

    # -- reading ------------------------------------------------------------------------------
    def read(self, timeout_s: float = 0.1) -> Chunk | None:
        """The next chunk, or None when none came within ``timeout_s`` (or acquisition finished).

        Raises BoardError (after every chunk received before it) when the board went silent.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._queue:
                    return self._queue.popleft()
                if self._error is not None:
                    raise self._error
                if self.finished or self._stop.is_set():
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def chunks(self, timeout_s: float = 0.1) -> Iterator[Chunk]:
        """Chunks until acquisition finishes or is stopped; BoardError if the board dies."""
        while True:
            chunk = self.read(timeout_s)
            if chunk is not None:
                yield chunk
                continue
            if self._error is not None:
                raise self._error
            if (self.finished or self._stop.is_set()) and not self._queue:
                return

    # -- events -------------------------------------------------------------------------------
    # The recording's writer writes every event into the sidecar (add_event/mark: at once; post_event: on its own
    # thread, in order). An event after stop() is appended to the closed recording's sidecar by the writer.
    def mark(self, label: str, data: dict | None = None, *, wait: bool = True) -> dict:
        """Record an event at the sample where it happened (the next sample the board delivers);
        ``wait=False`` returns before the sidecar is written (see :meth:`post_event`)."""
        with self._count_lock:  # no chunk is between poll and count while we look
            before = self.source.pending()
            self.source.insert_marker(float(len(self.events) + 1))
            after = self.source.pending()
            sample = self.samples_received + (before if before == after else after)
        return self._event(label, sample, data, wait=wait)

    def add_event(self, label: str, data: dict | None = None) -> dict:
        """Record an event at the latest sample received."""
        return self._event(label, max(self.samples_received - 1, 0), data, wait=True)

    def add_event_at(self, label: str, sample: int, data: dict | None = None) -> dict:
        """Record an event at a given sample index (e.g. a drill event placed by its own clock)."""
        return self._event(label, self._event_sample(sample), data, wait=True)

    def post_event(self, label: str, sample: int, data: dict | None = None) -> dict:
        """Record an event at ``sample`` without waiting for the disk: the recording's writer puts it in the
        sidecar on its own thread, in order (each event flushes the rows and rewrites the sidecar, 9-30 ms,
        too long for a live loop). :meth:`flush_events` waits for them; :meth:`stop` does too."""
        return self._event(label, self._event_sample(sample), data, wait=False)

    def flush_events(self, timeout_s: float = 10.0) -> bool:
        """Wait until every posted event is in the sidecar (False, logged, if not within ``timeout_s``)."""
        recorder = self.recorder
        return True if recorder is None else recorder.flush_events(timeout_s)

    @staticmethod
    def _event_sample(sample: int) -> int:
        if sample < 0:
            raise ConfigError(f"event sample {sample} is negative; give an index since the start of acquisition")
        return int(sample)

    def _event(self, label: str, sample: int, data: dict | None, *, wait: bool) -> dict:
        time_s = sample / self.fs_hz if self.fs_hz else 0.0
        recorder = self.recorder
        if recorder is None:
            event = {"label": str(label), "time_s": time_s, "sample": int(sample), "data": dict(data or {})}
        elif wait:
            event = recorder.add_event(label, sample, time_s, data)
        else:
            event = recorder.post_event(label, sample, time_s, data)
        self.events.append(event)
        return event

    def update_sidecar(self, **fields: Any) -> None:
        """Add fields to the recording's sidecar (drill, calibration, filters, ...), also after it was closed."""
        if self.recorder is not None:
            self.recorder.update(**fields)

    # -- internals ----------------------------------------------------------------------------
    def _label_channels(self) -> None:
        n = self.n_channels
        played = getattr(self.source, "recording_meta", None) or {}  # playback: keep the recording's labels
        played_names = [str(x) for x in (played.get("channel_names") or [])]
        if not self._names_arg and 0 < len(played_names) < n:
            # a recording that named fewer channels than its layout has EXG rows (`emg simulate` writes only the
            # simulated ones): its names first, the layout's own names for the rows it left empty
            taken = set(played_names)
            for name in self.preset.channel_names()[len(played_names) :]:
                while name in taken:
                    name += "_"
                taken.add(name)
                played_names.append(name)
        names = self._names_arg or played_names or self.preset.channel_names()
        if len(names) != n:
            raise ConfigError(f"{len(names)} channel names given for {n} channels; give exactly {n} (comma-separated)")
        muscles = self._muscles_arg or [str(m) for m in (played.get("muscles") or [])][:n]
        if len(muscles) > n:
            raise ConfigError(f"{len(muscles)} muscles given for {n} channels on {self.preset.name}; give at most {n}")
        self.channel_names = list(names)
        self.muscles = list(muscles) + [""] * (n - len(muscles))

    def _sidecar_meta(self) -> dict:
        p = self.preset
        board_id = p.master_board_id if p.needs_file else p.board_id
        board_name = self.source.board_name
        if p.needs_file:
            board_name = preset_for_board_id(board_id).name
        meta = {
            "board_id": board_id,
            "board_name": board_name,
            "sampling_rate": self.fs_hz,
            "num_rows": p.num_rows,
            "exg_rows": list(p.exg_rows),
            "accel_rows": list(p.accel_rows),
            "timestamp_row": p.timestamp_row,
            "marker_row": p.marker_row,
            "package_num_row": p.package_num_row,
            "channel_names": self.channel_names,
            "muscles": self.muscles,
            "gains": None,
            "rail_uv": p.rail_for_gain(self.gain),
        }
        meta.update(self.source.describe())
        if p.needs_file:
            meta["recorded_from"] = "playback"
        meta.update(self.record_meta)
        return meta

    def _package_gaps(self, pkg: np.ndarray) -> PackageGaps | None:
        """Lost packets in this chunk from its package numbers ``pkg`` (n,) (they wrap at
        preset.package_num_max); the last number and the counter's step carry over between chunks.
        None when the board has no package-number row."""
        if self.preset.package_num_row < 0:
            return None
        gaps = package_gaps(pkg, modulo=self.preset.package_num_max + 1, previous=self._last_pkg, step=self._pkg_step)
        self._last_pkg, self._pkg_step = gaps.last, gaps.step
        return gaps

    def _take(self, rows: np.ndarray) -> int:
        n = rows.shape[1]
        if n == 0:
            return 0
        if self.max_samples is not None:
            room = self.max_samples - self.samples_received
            if room <= 0:
                return 0
            if n > room:
                rows = rows[:, :room]
                n = room
        p = self.preset
        with self._rec_lock:
            if self.recorder is not None and not self.recorder.closed:
                try:
                    self.recorder.write(rows)
                except OSError as err:  # disk full, removed drive: stop, keep what is on disk
                    raise RecordingError(
                        f"writing {self.recorder.csv_path} failed ({err.strerror}); "
                        "free disk space or record elsewhere (data up to now are kept)"
                    ) from None
        gaps = self._package_gaps(rows[p.package_num_row]) if p.package_num_row >= 0 else None
        dropped = gaps.total if gaps is not None else 0
        self.dropped_packets += dropped
        chunk = Chunk(
            data_uv=rows[list(p.exg_rows)],
            timestamps=rows[p.timestamp_row].copy(),
            rows=rows,
            accel=rows[list(p.accel_rows)] if len(p.accel_rows) == 3 else None,
            first_sample=self.samples_received,
            dropped=dropped,
            gaps_at=tuple(gaps.at.tolist()) if dropped else (),
        )
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                log.warning("consumer is not reading: oldest chunk dropped from the queue (the recording keeps it)")
            self._queue.append(chunk)
            self.samples_received += n
            if self.max_samples is not None and self.samples_received >= self.max_samples:
                self.finished = True
                self.stop_reason = self.stop_reason or "duration reached"
            self._cond.notify_all()
        return n

    def _pump(self) -> None:
        try:
            while not self._stop.is_set() and not self.finished:
                with self._count_lock:
                    rows = self.source.poll()
                    if rows.shape[1]:
                        self._take(rows)
                now = time.monotonic()
                if rows.shape[1]:
                    self._last_data_t = now
                elif self.source.at_end():
                    with self._cond:
                        self.finished = True
                        self.stop_reason = self.stop_reason or "end of file"
                        self._cond.notify_all()
                    break
                elif now - self._last_data_t > (
                    self.stall_timeout_s if self.samples_received else max(self.stall_timeout_s, self.start_timeout_s)
                ):
                    silence = now - self._last_data_t
                    self.stall_detected_after_s = silence
                    what = self.source.board_name
                    port = getattr(self.source, "serial_port", None)
                    where = f" on {port}" if port else ""
                    if not self.samples_received:
                        raise BoardError(
                            f"board {what}{where} started but sent no data in {silence:.1f} s; "
                            "check its power, battery and dongle, then start again"
                        )
                    raise BoardError(
                        f"board {what}{where} stopped sending data ({silence:.2f} s of silence); "
                        "check its power, battery and dongle, then start again"
                    )
                self._stop.wait(self.poll_interval_s)
        except EmgError as err:
            self._fail(err)
        except Exception as err:
            log.exception("acquisition pump failed")
            self._fail(BoardError(f"acquisition failed ({type(err).__name__}: {err}); run with --debug for details"))

    def _fail(self, err: EmgError) -> None:
        # tell the consumer first, then stop the device (closing a silent serial board can take
        # up to BrainFlow's 1 s read timeout; its read thread would spin a core if left running)
        with self._cond:
            self._error = err
            self.stop_reason = f"error: {err}"
            self._cond.notify_all()
        self.source.close()
        brainflow_log.drain()
        with self._rec_lock:
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.close(self.stop_reason, dropped_packets=self.dropped_packets, error=str(err))
        log.debug("acquisition stopped: %s", err)
