"""Sample sources: where :class:`emg.acquire.acquisition.Acquisition` gets board rows from.

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

``poll`` is called from the acquisition's pump thread every 10 ms; ``pending`` and
``insert_marker`` from the thread that calls ``mark``. A source may raise
:class:`~emg.errors.BoardError` from ``poll`` (e.g. an LSL stream that vanished); silence is
detected by the acquisition's watchdog, not by the source.

:class:`BrainFlowSource` implements it for the BrainFlow presets (:mod:`emg.acquire.boards`);
:class:`LslRowsSource` adapts :class:`emg.acquire.lsl.LslSource` for ``--board lsl:NAME``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emg.acquire import brainflow_log
from emg.acquire.boards import BoardPreset, bipolar_emg_commands, get_preset, playback_preset, preset_for_board_id
from emg.errors import BoardError, ConfigError, EmgError, RecordingError

log = logging.getLogger(__name__)


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

    def __init__(
        self,
        preset: BoardPreset,
        *,
        serial_port: str | None = None,
        playback_file: str | os.PathLike | None = None,
        gain: int | None = None,
        fast: bool = False,
        loop: bool = False,
        timeout_s: int = 0,
        allow_truncated: bool = False,
    ) -> None:
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
        if preset.needs_file and gain is not None:
            raise ConfigError("--gain does not apply to playback (the recording keeps its gains); drop --gain")
        if preset.configurable_gain and self.gain is not None:
            bipolar_emg_commands(preset.n_channels, int(self.gain))  # validates the gain (ConfigError)
        elif (
            gain is not None
            and preset.default_gain is not None
            and gain != preset.default_gain
            and not preset.needs_file
        ):
            raise ConfigError(f"board {preset.name} has a fixed gain of {preset.default_gain}; drop --gain")
        elif gain is not None and preset.default_gain is None and not preset.needs_file:
            raise ConfigError(f"board {preset.name} has no gain setting; drop --gain")

    # -- opening ----------------------------------------------------------------------------
    def _prepare_playback(self, params: Any) -> None:
        from emg.recordings.recording import load_recording

        if self.playback_file is None:
            raise ConfigError("board playback needs a recording: give PATH.csv (made by `emg record`)")
        rec = load_recording(self.playback_file, allow_truncated=self.allow_truncated)
        meta = rec.meta
        try:
            master = preset_for_board_id(int(meta["board_id"]))
        except (ConfigError, TypeError, ValueError):
            raise RecordingError(
                f"{rec.path} was recorded from {meta.get('board_name') or meta.get('board_id')}, which "
                "BrainFlow's playback board cannot replay (it needs a BrainFlow board layout); "
                "use `emg analyze` on it instead"
            ) from None
        if rec.rows.shape[0] != master.num_rows:
            raise RecordingError(
                f"{rec.path} has {rec.rows.shape[0]} columns but board {master.name} has {master.num_rows} rows: "
                "the sidecar does not match the data"
            )
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
            from emg.recordings.writer import format_rows

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
            from emg.acquire.serial_ports import PortLock, check_serial_port

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
            raise BoardError(
                f"board {self.preset.name} did not start streaming ({_bf_error_text(err)}); "
                "power-cycle the board and try again"
            ) from None
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
            return BoardError(
                f"cannot open serial port {port} ({what}); check --serial-port and that no other program uses it"
            )
        if code == C.ANOTHER_BOARD_IS_CREATED_ERROR:
            return BoardError(f"a {self.preset.name} session is already open in this program; stop it first")
        if code == C.PORT_ALREADY_OPEN_ERROR:
            return BoardError(f"serial port {port} is already open in this program; release the other session first")
        if code == C.SER_PORT_ERROR:
            return BoardError(
                f"{port} does not behave as a serial port ({what}); give the dongle's port with --serial-port"
            )
        if code == C.BOARD_NOT_READY_ERROR:
            return BoardError(
                f"no {self.preset.name} answered on {port} ({what}); switch the board on (PC position), "
                "check the dongle, and give the right --serial-port"
            )
        if code == C.EMPTY_BUFFER_ERROR and self.preset.needs_file:
            return RecordingError(f"BrainFlow could not play {self.playback_file} ({what}); check the file")
        return BoardError(
            f"board {self.preset.name} could not be prepared ({what}); check the board, its power and --serial-port"
        )

    def _configure_bipolar(self) -> None:
        commands = bipolar_emg_commands(self.preset.n_channels, int(self.gain))
        reply = self._board.config_board(commands)
        n_ok = reply.count("Success")
        if "Failure" in reply or n_ok < min(self.preset.n_channels, 8):
            raise BoardError(
                f"board {self.preset.name} refused the EMG channel settings (reply: {reply.strip()[:80]!r}); "
                "update the board's firmware or power-cycle it"
            )
        self._describe.update(
            {
                "channel_config": commands,
                "channel_config_reply": reply,
                "input_mode": "bipolar (differential): SRB2 off, SRB1 off, bias on",
            }
        )

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
            raise BoardError(
                f"board {self.preset.name} stopped delivering data ({_bf_error_text(err)}); "
                "check the board and its connection"
            ) from None
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
    """``--board lsl:NAME``: an :class:`emg.acquire.lsl.LslSource` as a sample source.

    Rows: EMG channels 0..C-1 (uV), then the LSL timestamp, then a marker row (zeros).
    """

    def __init__(self, name: str) -> None:
        from emg.acquire.lsl import LslSource  # issue 7

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
            self.preset,
            name=self.board_name,
            board_id=-100,
            fs_hz=self.fs_hz,
            exg_rows=tuple(range(c)),
            accel_rows=(),
            timestamp_row=c,
            marker_row=c + 1,
            package_num_row=-1,
            num_rows=c + 2,
            description=f"LSL stream {self._lsl.name}",
            channel_prefix="ch",
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

    @property
    def recording_meta(self) -> dict:
        """The stream's own channel labels and muscles (read like a played recording's sidecar)."""
        n = len(self.preset.exg_rows)
        names = [str(c) for c in (getattr(self._lsl, "channel_names", None) or [])]
        muscles = [str(m) for m in (getattr(self._lsl, "muscles", None) or [])]
        return {
            "channel_names": names if n and len(names) == n else [],
            "muscles": muscles if len(muscles) == n and any(muscles) else [],
        }

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
