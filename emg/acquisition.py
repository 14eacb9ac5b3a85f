"""Acquisition: a board (or stream) delivering channels x samples chunks in microvolts.

:class:`Acquisition` is a context manager around a *sample source*. On entry it opens the source
(prepares and starts the board), optionally opens a :class:`~emg.recorder.RecordingWriter`, and starts
one pump thread that polls the source every ``poll_interval_s`` (10 ms: about 100 chunks a second),
writes every board row to the recording as it arrives, and queues :class:`Chunk` objects for
:meth:`Acquisition.read` / :meth:`Acquisition.chunks`. On exit (or error, or Ctrl-C) the source is
always closed (BrainFlow session released) and the recording's sidecar completed.

Silence watchdog: when a source that should be sending delivers nothing for ``stall_timeout_s``
(0.8 s by default; ``start_timeout_s``, 5 s, for the first sample) the pump closes the source at once (BrainFlow's Cyton read thread would
otherwise spin a core) and :meth:`read` raises :class:`~emg.errors.BoardError` after the chunks
already received. A finite source (playback) that reaches its end is not an error: ``finished``
becomes true and :meth:`chunks` ends.

Sample-source protocol (what issue 7's LSL source, or any other, implements)::

    class SampleSource(Protocol):
        preset: BoardPreset     # row layout (num_rows, exg_rows, accel_rows, timestamp_row, ...) and fs_hz
        fs_hz: float            # true sampling rate of the rows delivered
        board_name: str         # as recorded in the sidecar ("cyton", "lsl:NAME", ...)
        def open(self) -> None            # prepare and start; BoardError/ConfigError (one line) on failure
        def poll(self) -> np.ndarray      # every row that arrived since the last poll, (R, n), n may be 0
        def pending(self) -> int          # samples arrived but not yet polled (for mark())
        def at_end(self) -> bool          # a finite source has delivered everything
        def insert_marker(self, value: float) -> None   # best effort, may do nothing
        def describe(self) -> dict        # extra sidecar fields (gains, channel config, port, ...)
        def close(self) -> None           # idempotent, never raises, always releases the device

:class:`BrainFlowSource` implements it for the BrainFlow presets (:mod:`emg.boards`);
:class:`LslRowsSource` adapts :class:`emg.lsl.LslSource` for ``--board lsl:NAME``.
"""

from __future__ import annotations

import collections
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol, runtime_checkable

import numpy as np

from emg import brainflow_log
from emg.boards import (BoardPreset, bipolar_emg_commands, get_preset, playback_preset, preset_for_board_id)
from emg.errors import BoardError, ConfigError, EmgError, RecordingError

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

    @property
    def n_samples(self) -> int:
        return int(self.data_uv.shape[1])


@runtime_checkable
class SampleSource(Protocol):
    preset: BoardPreset
    fs_hz: float
    board_name: str

    def open(self) -> None: ...
    def poll(self) -> np.ndarray: ...
    def pending(self) -> int: ...
    def at_end(self) -> bool: ...
    def insert_marker(self, value: float) -> None: ...
    def describe(self) -> dict: ...
    def close(self) -> None: ...


# --------------------------------------------------------------------------- BrainFlow


def _bf_error_text(err: Exception) -> str:
    """A short name for a BrainFlowError plus BrainFlow's own last log line."""
    name = str(err).split(":", 1)[0] if str(err) else type(err).__name__
    native = brainflow_log.last_error()
    return f"{name}; BrainFlow says: {native}" if native else name


class BrainFlowSource:
    """A BrainFlow board as a sample source (synthetic, playback, Cyton, Cyton+Daisy, Ganglion).

    Cyton presets are switched to bipolar EMG mode at ``gain`` after prepare (``config_board``);
    the board's answer is checked and kept (``describe()["channel_config_reply"]``).
    Playback reads ``playback_file`` (PATH.csv + PATH.json): the master board and the sampling rate
    come from the sidecar; ``fast=True`` streams with no pacing; ``loop=True`` loops forever.
    """

    def __init__(self, preset: BoardPreset, *, serial_port: str | None = None, playback_file: str | os.PathLike | None = None,
                 gain: int | None = None, fast: bool = False, loop: bool = False, timeout_s: int = 0,
                 allow_truncated: bool = False) -> None:
        self.preset = preset
        self.board_name = preset.name
        self.serial_port = serial_port
        self.playback_file = Path(playback_file) if playback_file else None
        self.gain = gain if gain is not None else preset.default_gain
        self.fast = fast
        self.loop = loop
        self.timeout_s = timeout_s
        self.allow_truncated = allow_truncated
        self.fs_hz = float(preset.fs_hz)
        self.total_samples: int | None = None  # playback: samples in the file
        self.recording_meta: dict = {}  # playback: the file's sidecar
        self._board = None
        self._lock = None
        self._tmp_file: Path | None = None
        self._polled = 0
        self._describe: dict[str, Any] = {}
        self._closed = False
        if preset.configurable_gain and self.gain is not None:
            bipolar_emg_commands(preset.n_channels, int(self.gain))  # validates the gain (ConfigError)
        elif gain is not None and preset.default_gain is not None and gain != preset.default_gain and not preset.needs_file:
            raise ConfigError(f"board {preset.name} has a fixed gain of {preset.default_gain}; drop --gain")
        elif gain is not None and preset.default_gain is None and not preset.needs_file:
            raise ConfigError(f"board {preset.name} has no gain setting; drop --gain")

    # -- opening ----------------------------------------------------------------------------
    def _prepare_playback(self, params: Any) -> None:
        from emg.recording import load_recording

        if self.playback_file is None:
            raise ConfigError("board playback needs a recording: give PATH.csv (made by `emg record`)")
        rec = load_recording(self.playback_file, allow_truncated=self.allow_truncated)
        meta = rec.meta
        master = preset_for_board_id(int(meta["board_id"]))
        if rec.rows.shape[0] != master.num_rows:
            raise RecordingError(f"{rec.path} has {rec.rows.shape[0]} columns but board {master.name} has {master.num_rows} rows: "
                                 "the sidecar does not match the data")
        self.preset = playback_preset(master, rec.fs_hz)
        self.fs_hz = rec.fs_hz
        self.total_samples = rec.n_samples
        self.recording_meta = meta
        self.gain = (meta.get("gains") or [None])[0]
        file_to_play = rec.path
        if self.fast:
            rows = rec.rows.copy()
            rows[master.timestamp_row] = 0.0
            fd, name = tempfile.mkstemp(prefix="emg-replay-", suffix=".csv")
            os.close(fd)
            self._tmp_file = Path(name)
            from emg.recorder import format_rows

            self._tmp_file.write_bytes(format_rows(rows))
            file_to_play = self._tmp_file
        params.file = str(file_to_play)
        params.master_board = master.board_id
        self._describe.update({"playback_of": str(rec.path), "master_board": master.name})

    def open(self) -> None:
        from brainflow.board_shim import BoardShim, BrainFlowError, BrainFlowInputParams

        brainflow_log.route_brainflow_logging()
        params = BrainFlowInputParams()
        if self.preset.needs_file:
            self._prepare_playback(params)
        if self.preset.needs_serial_port:
            from emg.serial_ports import PortLock, check_serial_port

            port = check_serial_port(self.serial_port, self.preset.name)
            lock = PortLock(port)
            lock.acquire()
            self._lock = lock
            params.serial_port = port
            self._describe["serial_port"] = port
        if self.timeout_s:
            params.timeout = int(self.timeout_s)
        brainflow_log.clear_last_error()
        try:
            self._board = BoardShim(self.preset.board_id, params)
            self._board.prepare_session()
        except BrainFlowError as err:
            self.close()
            raise self._prepare_error(err) from None
        try:
            if self.preset.configurable_gain and self.gain is not None:
                self._configure_bipolar()
            if self.preset.needs_file:
                self._board.config_board("loopback_true" if self.loop else "loopback_false")
            buffer = 450000
            if self.total_samples:
                buffer = max(buffer, self.total_samples + 1000)
            self._board.start_stream(buffer)
        except BrainFlowError as err:
            self.close()
            raise BoardError(f"board {self.preset.name} did not start streaming ({_bf_error_text(err)}); "
                             "power-cycle the board and try again") from None
        except EmgError:
            self.close()
            raise
        brainflow_log.drain()
        log.info("%s streaming at %g Hz", self.preset.name, self.fs_hz)

    def _prepare_error(self, err: Exception) -> EmgError:
        from brainflow.exit_codes import BrainFlowExitCodes as C

        code = getattr(err, "exit_code", None)
        what = _bf_error_text(err)
        port = self.serial_port
        if code == C.UNABLE_TO_OPEN_PORT_ERROR:
            return BoardError(f"cannot open serial port {port} ({what}); check --serial-port and that no other program uses it")
        if code == C.ANOTHER_BOARD_IS_CREATED_ERROR:
            return BoardError(f"a {self.preset.name} session is already open in this program; stop it first")
        if code == C.PORT_ALREADY_OPEN_ERROR:
            return BoardError(f"serial port {port} is already open in this program; release the other session first")
        if code == C.SER_PORT_ERROR:
            return BoardError(f"{port} does not behave as a serial port ({what}); give the dongle's port with --serial-port")
        if code == C.BOARD_NOT_READY_ERROR:
            return BoardError(f"no {self.preset.name} answered on {port} ({what}); switch the board on (PC position), "
                              "check the dongle, and give the right --serial-port")
        if code == C.EMPTY_BUFFER_ERROR and self.preset.needs_file:
            return RecordingError(f"BrainFlow could not play {self.playback_file} ({what}); check the file")
        return BoardError(f"board {self.preset.name} could not be prepared ({what}); check the board, its power and --serial-port")

    def _configure_bipolar(self) -> None:
        commands = bipolar_emg_commands(self.preset.n_channels, int(self.gain))
        reply = self._board.config_board(commands)
        n_ok = reply.count("Success")
        if "Failure" in reply or n_ok < min(self.preset.n_channels, 8):
            raise BoardError(f"board {self.preset.name} refused the EMG channel settings (reply: {reply.strip()[:80]!r}); "
                             "update the board's firmware or power-cycle it")
        self._describe.update({
            "channel_config": commands,
            "channel_config_reply": reply,
            "input_mode": "bipolar (differential): SRB2 off, SRB1 off, bias on",
        })

    # -- streaming --------------------------------------------------------------------------
    def poll(self) -> np.ndarray:
        board = self._board
        if board is None:
            return np.empty((self.preset.num_rows, 0))
        try:
            n = board.get_board_data_count()
            if n <= 0:
                return np.empty((self.preset.num_rows, 0))
            rows = board.get_board_data(n)
        except Exception as err:  # noqa: BLE001 - BrainFlowError, or a board released under us
            raise BoardError(f"board {self.preset.name} stopped delivering data ({_bf_error_text(err)}); "
                             "check the board and its connection") from None
        self._polled += rows.shape[1]
        return rows

    def pending(self) -> int:
        board = self._board
        try:
            return int(board.get_board_data_count()) if board is not None else 0
        except Exception:  # noqa: BLE001
            return 0

    def at_end(self) -> bool:
        return bool(self.total_samples is not None and not self.loop and self._polled >= self.total_samples)

    def insert_marker(self, value: float) -> None:
        board = self._board
        if board is None or self.preset.needs_file:
            return
        try:
            board.insert_marker(float(value))
        except Exception as err:  # noqa: BLE001 - a marker must never stop a session
            log.debug("insert_marker failed: %s", err)

    def describe(self) -> dict:
        out = dict(self._describe)
        if self.preset.configurable_gain or (self.preset.default_gain is not None):
            out["gains"] = [self.gain] * self.preset.n_channels if self.gain is not None else None
        return out

    def close(self) -> None:
        """Stop the stream (tolerating a dead device) and always release the session."""
        board, self._board = self._board, None
        if board is not None:
            try:
                if board.is_prepared():
                    try:
                        board.stop_stream()
                    except Exception as err:  # noqa: BLE001 - a dead device fails here (BOARD_WRITE_ERROR)
                        log.debug("stop_stream failed (%s); releasing anyway", err)
                    board.release_session()
            except Exception as err:  # noqa: BLE001
                log.warning("releasing the %s session failed: %s", self.preset.name, err)
            del board
        brainflow_log.drain()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._tmp_file is not None:
            try:
                self._tmp_file.unlink()
            except OSError:
                pass
            self._tmp_file = None


# --------------------------------------------------------------------------- LSL


class LslRowsSource:
    """``--board lsl:NAME``: an :class:`emg.lsl.LslSource` as a sample source.

    Rows: EMG channels 0..C-1 (uV), then the LSL timestamp, then a marker row (zeros).
    """

    def __init__(self, name: str) -> None:
        from emg.lsl import LslSource  # issue 7

        self._lsl = LslSource(name)
        self.board_name = f"lsl:{self._lsl.name}"
        self.preset = get_preset("synthetic")
        self.fs_hz = 0.0
        self._marker: float = 0.0

    def open(self) -> None:
        from dataclasses import replace

        self._lsl.open()
        c = int(self._lsl.n_channels)
        self.fs_hz = float(self._lsl.fs_hz)
        self.preset = replace(
            self.preset, name=self.board_name, board_id=-100, fs_hz=self.fs_hz, exg_rows=tuple(range(c)),
            accel_rows=(), timestamp_row=c, marker_row=c + 1, package_num_row=-1, num_rows=c + 2,
            description=f"LSL stream {self._lsl.name}", channel_prefix="ch",
        )

    def poll(self) -> np.ndarray:
        got = self._lsl.read(0.0)
        if got is None:
            return np.empty((self.preset.num_rows, 0))
        data_uv, timestamps = got
        n = data_uv.shape[1]
        rows = np.zeros((self.preset.num_rows, n))
        rows[: data_uv.shape[0]] = data_uv
        rows[self.preset.timestamp_row] = timestamps
        if self._marker and n:
            rows[self.preset.marker_row, 0] = self._marker
            self._marker = 0.0
        return rows

    def pending(self) -> int:
        return 0

    def at_end(self) -> bool:
        return False

    def insert_marker(self, value: float) -> None:
        self._marker = float(value)

    def describe(self) -> dict:
        info = {"lsl_stream": self._lsl.name}
        if getattr(self._lsl, "channel_names", None):
            info["lsl_channel_names"] = list(self._lsl.channel_names)
        return info

    def close(self) -> None:
        try:
            self._lsl.close()
        except Exception as err:  # noqa: BLE001
            log.debug("closing LSL source: %s", err)


# --------------------------------------------------------------------------- Acquisition


class Acquisition:
    """Prepare, start, read and always release a board; optionally record everything it sends.

    ``preset_name``: a preset from :mod:`emg.boards` or ``lsl:NAME``. ``record_to``: PATH(.csv) for
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
                raise ConfigError("board playback needs a recording file (PATH.csv made by `emg record`)")
            if playback_file is not None and not preset.needs_file:
                raise ConfigError(f"a playback file was given but board {preset.name} does not play files; use --board playback")
            self.source = BrainFlowSource(preset, serial_port=serial_port, playback_file=playback_file, gain=gain,
                                          fast=fast, loop=loop, allow_truncated=allow_truncated)
        self._muscles_arg = list(muscles or [])
        self._names_arg = list(channel_names or [])
        self.stall_timeout_s = float(stall_timeout_s)
        self.start_timeout_s = float(start_timeout_s)
        self.poll_interval_s = float(poll_interval_s)
        self.max_samples = int(max_samples) if max_samples else None
        self.record_to = record_to
        self.overwrite = overwrite
        self.record_meta = dict(record_meta or {})
        self.recorder = None
        self.samples_received = 0
        self.dropped_packets = 0
        self.finished = False
        self.stop_reason = ""
        self.stall_detected_after_s: float | None = None  # silence measured when the watchdog fired
        self.events: list[dict] = []
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
                from emg.recorder import RecordingWriter

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
        """Stop the pump, fetch what the board still holds, release the board, close the recording."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        if self._started and self._error is None and not self.finished:
            try:
                with self._count_lock:
                    self._take(self.source.poll(), final=True)
            except EmgError as err:
                log.debug("final poll: %s", err)
        self.source.close()
        if not self.stop_reason:
            self.stop_reason = reason or ("error" if self._error else "stopped")
        elif reason and reason.startswith("interrupted"):
            self.stop_reason = reason
        with self._rec_lock:
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.close(self.stop_reason, dropped_packets=self.dropped_packets,
                                    error=str(self._error) if self._error else None)
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
    def mark(self, label: str, data: dict | None = None) -> dict:
        """Record an event at the sample where it happened (the next sample the board delivers)."""
        with self._count_lock:  # no chunk is between poll and count while we look
            before = self.source.pending()
            self.source.insert_marker(float(len(self.events) + 1))
            after = self.source.pending()
            sample = self.samples_received + (before if before == after else after)
        return self._event(label, sample, data)

    def add_event(self, label: str, data: dict | None = None) -> dict:
        """Record an event at the latest sample received."""
        return self._event(label, max(self.samples_received - 1, 0), data)

    def add_event_at(self, label: str, sample: int, data: dict | None = None) -> dict:
        """Record an event at a given sample index (e.g. a drill event placed by its own clock)."""
        if sample < 0:
            raise ConfigError(f"event sample {sample} is negative; give an index since the start of acquisition")
        return self._event(label, int(sample), data)

    def _event(self, label: str, sample: int, data: dict | None) -> dict:
        time_s = sample / self.fs_hz if self.fs_hz else 0.0
        event = {"label": str(label), "time_s": time_s, "sample": int(sample), "data": dict(data or {})}
        with self._rec_lock:
            self.events.append(event)
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.add_event(label, sample, time_s, data)
        return event

    def update_sidecar(self, **fields: Any) -> None:
        """Add fields to the recording's sidecar (drill, calibration, filters, ...)."""
        with self._rec_lock:
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.update(**fields)

    # -- internals ----------------------------------------------------------------------------
    def _label_channels(self) -> None:
        n = self.n_channels
        names = self._names_arg or self.preset.channel_names()
        if len(names) != n:
            raise ConfigError(f"{len(names)} channel names given for {n} channels; give exactly {n} (comma-separated)")
        muscles = self._muscles_arg
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

    def _package_gaps(self, pkg: np.ndarray) -> int:
        """Packets lost, from the package-number row (wraps at preset.package_num_max)."""
        if pkg.size == 0 or self.preset.package_num_row < 0:
            return 0
        modulo = self.preset.package_num_max + 1
        seq = pkg if self._last_pkg is None else np.concatenate(([self._last_pkg], pkg))
        self._last_pkg = float(pkg[-1])
        if seq.size < 2:
            return 0
        diffs = np.mod(np.diff(seq), modulo)
        if self._pkg_step is None:
            positive = diffs[diffs > 0]
            if positive.size < 4:
                return 0
            self._pkg_step = int(np.min(positive))
        gaps = diffs // self._pkg_step - 1
        return int(np.sum(gaps[gaps > 0]))

    def _take(self, rows: np.ndarray, final: bool = False) -> int:
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
                    raise RecordingError(f"writing {self.recorder.csv_path} failed ({err.strerror}); "
                                         "free disk space or record elsewhere (data up to now are kept)") from None
        dropped = self._package_gaps(rows[p.package_num_row]) if p.package_num_row >= 0 else 0
        self.dropped_packets += dropped
        chunk = Chunk(
            data_uv=rows[list(p.exg_rows)],
            timestamps=rows[p.timestamp_row].copy(),
            rows=rows,
            accel=rows[list(p.accel_rows)] if len(p.accel_rows) == 3 else None,
            first_sample=self.samples_received,
            dropped=dropped,
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
                elif now - self._last_data_t > (self.stall_timeout_s if self.samples_received
                                                 else max(self.stall_timeout_s, self.start_timeout_s)):
                    silence = now - self._last_data_t
                    self.stall_detected_after_s = silence
                    self.source.close()  # stop BrainFlow's spinning read thread now
                    brainflow_log.drain()
                    what = self.source.board_name
                    port = getattr(self.source, "serial_port", None)
                    where = f" on {port}" if port else ""
                    if not self.samples_received:
                        raise BoardError(f"board {what}{where} started but sent no data in {silence:.1f} s; "
                                         "check its power, battery and dongle, then start again")
                    raise BoardError(f"board {what}{where} stopped sending data ({silence:.2f} s of silence); "
                                     "check its power, battery and dongle, then start again")
                self._stop.wait(self.poll_interval_s)
        except EmgError as err:
            self._fail(err)
        except Exception as err:  # noqa: BLE001 - report, never leave the board open
            log.exception("acquisition pump failed")
            self._fail(BoardError(f"acquisition failed ({type(err).__name__}: {err}); run with --debug for details"))

    def _fail(self, err: EmgError) -> None:
        self.source.close()
        with self._cond:
            self._error = err
            self.stop_reason = f"error: {err}"
            self._cond.notify_all()
        with self._rec_lock:
            if self.recorder is not None and not self.recorder.closed:
                self.recorder.close(self.stop_reason, dropped_packets=self.dropped_packets, error=str(err))
        log.debug("acquisition stopped: %s", err)
