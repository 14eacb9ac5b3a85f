"""Lab Streaming Layer (LSL) in and out: publish a session, or take any LSL EMG stream as the board.

Out - :class:`LslPublisher` opens three outlets for a whole session, whatever the view shows:

=====================  ==========  =========================================================  ===========
stream name            type        content                                                    rate
=====================  ==========  =========================================================  ===========
``<name>-raw``         ``EMG``     raw EMG, one channel per electrode pair, microvolts,       board rate
                                   double precision (no rounding of the board's values)
``<name>-activation``  ``EMGActivation``  activation in % of the calibrated reference,      board rate
                                   float32 (or the envelope in uV before calibration)
``<name>-markers``     ``Markers`` cues, reps, events: one string per event (the label,      irregular
                                   then a space and compact JSON when the event has data)
=====================  ==========  =========================================================  ===========

Each numeric stream describes its channels the usual LSL way (``desc/channels/channel`` with
``label``, ``unit``, ``type`` and, ours, ``muscle``) plus ``desc/acquisition`` (device, software)
and ``desc/reference`` (calibration kind) so LabRecorder / XDF files keep what the numbers mean.

In - :class:`LslSource` resolves a stream by name (``--board lsl:NAME``), converts its values to
microvolts from the stream's channel units, and hands out ``(data_uv (C, n), timestamps (n,))``
chunks with unix-time timestamps, like a board. A stream that is not found within the resolve
timeout, or stops sending for ``stall_timeout_s``, raises :class:`emg.errors.BoardError`.

Loopback only: liblsl reads its configuration file (named by ``LSLAPICFG``) once, when it is
loaded, and its defaults broadcast and multicast discovery packets on the local network. Before
anything imports :mod:`pylsl`, :func:`configure_lsl` (called by every entry point in this module)
writes a loopback-only configuration and points ``LSLAPICFG`` at it, unless ``LSLAPICFG`` is
already set (then the user's file wins) or ``EMG_LSL_SCOPE=network`` asks for liblsl's defaults
(streams visible to other computers). See docs/INTEROP.md.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emg.errors import BoardError, ConfigError
from emg.recordings.units import UNIT_TO_UV
from feedback.events import jsonable

if TYPE_CHECKING:  # numpy is imported where it is used, so `emg --help` stays instant
    import numpy as np

log = logging.getLogger(__name__)

#: liblsl configuration keeping every packet on this machine (see module docstring).
LOOPBACK_CONFIG = (
    "; emg: keep Lab Streaming Layer on this computer (loopback only)\n"
    "[ports]\nIPv6 = disable\n"
    "[multicast]\nResolveScope = machine\nMachineAddresses = {127.0.0.1}\n"
    "[lab]\nKnownPeers = {127.0.0.1}\n"
    "[log]\nlevel = -3\n"
)

#: Environment variable choosing the scope when LSLAPICFG is unset: "local" (default) or "network".
SCOPE_ENV = "EMG_LSL_SCOPE"

RAW_TYPE = "EMG"
ACTIVATION_TYPE = "EMGActivation"
MARKER_TYPE = "Markers"

#: Seconds a closing publisher waits so connected inlets receive the last samples.
CLOSE_GRACE_S = 0.25

#: Extra seconds a freshly opened stream may stay silent before its first sample.
FIRST_DATA_GRACE_S = 2.0


def loopback_config_path() -> Path:
    """Where :func:`configure_lsl` writes the loopback-only liblsl configuration."""
    return Path(tempfile.gettempdir()) / f"emg-lsl-loopback-{os.getuid() if hasattr(os, 'getuid') else 0}.cfg"


def write_loopback_config(path: str | Path | None = None) -> Path:
    """Write :data:`LOOPBACK_CONFIG` to ``path`` (default :func:`loopback_config_path`) and return it."""
    target = Path(path) if path is not None else loopback_config_path()
    if not target.exists() or target.read_text() != LOOPBACK_CONFIG:
        tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
        tmp.write_text(LOOPBACK_CONFIG)
        os.replace(tmp, target)
    return target


def configure_lsl(local: bool | None = None) -> str:
    """Choose liblsl's configuration before pylsl is imported; return a one-line description.

    ``local=True`` (``--lsl-scope local``) or, when ``local`` is None, ``EMG_LSL_SCOPE`` unset or "local":
    if ``LSLAPICFG`` is unset, write the loopback-only file and point ``LSLAPICFG`` at it.
    ``LSLAPICFG`` set by the user always wins. ``local=False`` or ``EMG_LSL_SCOPE=network`` leaves
    liblsl's defaults (discovery on the local network). Raises ConfigError when pylsl was already
    imported without the loopback file although loopback was asked for (the setting would be ignored).
    """
    user_cfg = os.environ.get("LSLAPICFG")
    if user_cfg:
        if not Path(user_cfg).is_file():
            raise ConfigError(f"LSLAPICFG names {user_cfg}, which does not exist; fix the path or unset LSLAPICFG")
        return f"LSL configuration from LSLAPICFG={user_cfg}"
    if local is None:
        scope = os.environ.get(SCOPE_ENV, "local").strip().lower()
        if scope not in ("local", "network"):
            raise ConfigError(f"{SCOPE_ENV}={scope!r} is not a scope; use 'local' (this computer) or 'network'")
        local = scope == "local"
    if not local:
        return "LSL on the local network (liblsl defaults)"
    if "pylsl" in sys.modules:
        raise ConfigError(
            "pylsl was imported before the loopback-only LSL configuration was set; "
            "set LSLAPICFG before starting Python (see docs/INTEROP.md)"
        )
    path = write_loopback_config()
    os.environ["LSLAPICFG"] = str(path)
    return f"LSL kept on this computer (loopback only, LSLAPICFG={path})"


def _pylsl(local: bool | None = None):
    """Import pylsl after :func:`configure_lsl`; a clear error where liblsl is missing."""
    if "pylsl" not in sys.modules:
        configure_lsl(local)
    try:
        import pylsl
    except (ImportError, RuntimeError, OSError) as err:
        raise ConfigError(
            f"Lab Streaming Layer is not available ({err}); install it with `pip install pylsl` (it ships liblsl)"
        ) from None
    return pylsl


def lsl_clock_offset_s() -> float:
    """Seconds to add to an LSL ``local_clock()`` time to get unix time (measured now)."""
    pylsl = _pylsl()
    before = time.time()
    lsl_now = pylsl.local_clock()
    after = time.time()
    return 0.5 * (before + after) - lsl_now


# --------------------------------------------------------------------------- out


def _describe_channels(info: Any, labels: Sequence[str], unit: str, kind: str, muscles: Sequence[str] | None) -> None:
    chans = info.desc().append_child("channels")
    for i, label in enumerate(labels):
        ch = chans.append_child("channel")
        ch.append_child_value("label", str(label))
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", kind)
        muscle = muscles[i] if muscles is not None and i < len(muscles) else ""
        if muscle:
            ch.append_child_value("muscle", str(muscle))


def _describe_acquisition(info: Any, device: str, extra: dict[str, Any] | None) -> None:
    from emg import __version__

    acq = info.desc().append_child("acquisition")
    key = device.lower()
    maker = (
        "OpenBCI" if key.startswith(("cyton", "ganglion")) else "BrainFlow" if key in ("synthetic", "playback") else ""
    )
    acq.append_child_value("manufacturer", maker)
    acq.append_child_value("model", device)
    acq.append_child_value("software", f"emg-biofeedback {__version__}")
    for key, value in (extra or {}).items():
        acq.append_child_value(str(key), value if isinstance(value, str) else json.dumps(value))


class LslPublisher:
    """Three LSL outlets for a session: raw EMG (uV), activation (%), markers.

    ``activation=False`` leaves out the activation outlet (``emg record``: no calibration).
    Usage: ``pub = LslPublisher("emg", fs_hz=250, channel_names=[...], muscles=[...])`` then
    ``pub.push_raw(chunk_uv (C, n), timestamps (n,))`` for every board chunk,
    ``pub.push_activation(pct (C, n))`` after the pipeline, ``pub.push_marker(label, data)`` for
    every event; ``pub.close()`` (or use it as a context manager). Board timestamps are unix seconds;
    they are converted to LSL's clock so a consumer can line our streams up with its own.
    Pushing never blocks and never raises for a consumer that went away.
    """

    def __init__(
        self,
        name: str = "emg",
        *,
        fs_hz: float,
        channel_names: Sequence[str],
        muscles: Sequence[str] | None = None,
        device: str = "",
        activation_unit: str = "percent",
        reference_kind: str = "",
        source_id: str | None = None,
        local: bool | None = None,
        meta: dict[str, Any] | None = None,
        activation: bool = True,
    ) -> None:
        if not channel_names:
            raise ConfigError("LSL outlets need at least one channel")
        if not (math.isfinite(fs_hz) and fs_hz > 0):
            raise ConfigError(f"LSL outlets need a positive sampling rate, got {fs_hz}")
        pylsl = _pylsl(local)
        self.name = str(name)
        self.fs_hz = float(fs_hz)
        self.channel_names = [str(c) for c in channel_names]
        self.muscles = list(muscles) if muscles else []
        self.n_channels = len(self.channel_names)
        self._offset_s = lsl_clock_offset_s()
        self._closed = False
        self.samples_pushed = 0
        self.activation_pushed = 0
        self.markers_pushed = 0
        sid = source_id or f"emg-{self.name}-{os.getpid()}"
        labels = self.channel_names

        raw = pylsl.StreamInfo(
            f"{self.name}-raw", RAW_TYPE, self.n_channels, self.fs_hz, pylsl.cf_double64, f"{sid}-raw"
        )
        _describe_channels(raw, labels, "microvolts", "EMG", self.muscles)
        _describe_acquisition(raw, device, meta)

        act = pylsl.StreamInfo(
            f"{self.name}-activation",
            ACTIVATION_TYPE,
            self.n_channels,
            self.fs_hz,
            pylsl.cf_float32,
            f"{sid}-activation",
        )
        _describe_channels(act, labels, activation_unit, "EMGActivation", self.muscles)
        _describe_acquisition(act, device, meta)
        ref = act.desc().append_child("reference")
        ref.append_child_value("kind", reference_kind or "")
        ref.append_child_value(
            "meaning",
            "100 = the calibrated reference contraction, 0 = rest floor"
            if activation_unit == "percent"
            else "envelope before calibration",
        )

        mark = pylsl.StreamInfo(
            f"{self.name}-markers", MARKER_TYPE, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, f"{sid}-markers"
        )
        mark.desc().append_child_value("format", "label, or label + ' ' + compact JSON of the event data")
        _describe_acquisition(mark, device, meta)

        try:
            self._raw = pylsl.StreamOutlet(raw, chunk_size=0, max_buffered=60)
            self._act = pylsl.StreamOutlet(act, chunk_size=0, max_buffered=60) if activation else None
            self._mark = pylsl.StreamOutlet(mark, chunk_size=0, max_buffered=600)
        except (RuntimeError, OSError) as err:
            raise ConfigError(
                f"cannot open the LSL outlets {self.name}-*: {err}; check that liblsl may open "
                "local ports (see docs/INTEROP.md) or run without --lsl"
            ) from None
        self._local_clock = pylsl.local_clock
        self.stream_names = (
            [f"{self.name}-raw"] + ([f"{self.name}-activation"] if activation else []) + [f"{self.name}-markers"]
        )
        log.info("LSL outlets %s (%d ch at %g Hz)", ", ".join(self.stream_names), self.n_channels, self.fs_hz)

    # -- helpers
    def _lsl_time(self, unix_s: float | None) -> float:
        if unix_s is None or not math.isfinite(unix_s) or unix_s <= 0:
            return self._local_clock()
        return float(unix_s) - self._offset_s

    def _check(self, chunk: np.ndarray, what: str) -> np.ndarray:
        import numpy as np

        arr = np.asarray(chunk)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1) if arr.shape[0] == self.n_channels else arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[0] != self.n_channels:
            raise ConfigError(f"LSL {what}: expected {self.n_channels} channels x samples, got shape {arr.shape}")
        return arr

    # -- pushing
    def push_raw(self, chunk_uv: np.ndarray, timestamps: np.ndarray | None = None) -> None:
        """Push board data, channels x samples in microvolts; ``timestamps`` (n,) unix seconds."""
        import numpy as np

        if self._closed:
            return
        arr = self._check(chunk_uv, "raw chunk")
        n = arr.shape[1]
        if n == 0:
            return
        last = float(timestamps[-1]) if timestamps is not None and len(timestamps) else None
        self._raw.push_chunk(np.ascontiguousarray(arr.T, dtype=np.float64), self._lsl_time(last))
        self.samples_pushed += n

    def push_activation(self, pct: np.ndarray, timestamps: np.ndarray | None = None) -> None:
        """Push activation in % of reference: (C, n) (or (C,) for one sample); no-op without that outlet."""
        import numpy as np

        if self._closed or self._act is None:
            return
        arr = self._check(pct, "activation")
        n = arr.shape[1]
        if n == 0:
            return
        last = float(timestamps[-1]) if timestamps is not None and len(timestamps) else None
        out = np.array(arr.T, dtype=np.float32, order="C", copy=True)  # a copy: the caller's array is untouched
        if not np.isfinite(out).all():
            np.nan_to_num(out, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        self._act.push_chunk(out, self._lsl_time(last))
        self.activation_pushed += n

    def push_marker(self, label: str, data: dict[str, Any] | None = None, timestamp: float | None = None) -> None:
        """Push one event (cue, rep start/end, mark...). ``timestamp`` in unix seconds (default now)."""
        if self._closed:
            return
        text = str(label)
        if data:
            text += " " + json.dumps(jsonable(data), separators=(",", ":"))
        self._mark.push_sample([text], self._lsl_time(timestamp))
        self.markers_pushed += 1

    def have_consumers(self) -> bool:
        """True when at least one inlet is connected to the raw stream."""
        return bool(self._raw.have_consumers()) if not self._closed else False

    def close(self) -> None:
        """Close the outlets (idempotent); consumers see the streams end."""
        if self._closed:
            return
        try:  # give connected inlets the last chunk: destroying an outlet drops what is still in flight
            if any(o is not None and o.have_consumers() for o in (self._raw, self._act, self._mark)):
                time.sleep(CLOSE_GRACE_S)
        except Exception:  # noqa: BLE001 - closing must never fail
            pass
        self._closed = True
        self._raw = self._act = self._mark = None  # dropping the last reference destroys the outlet
        log.info(
            "LSL outlets %s closed after %d samples, %d markers", self.name, self.samples_pushed, self.markers_pushed
        )

    def __enter__(self) -> LslPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- in


@dataclass
class StreamSummary:
    """What :func:`list_streams` reports about one stream on this computer (or network).

    ``channel_names`` and ``units`` are filled only from a full description (an open inlet):
    discovery answers carry the header, not ``desc``.
    """

    name: str
    type: str
    n_channels: int
    fs_hz: float
    channel_format: str
    source_id: str
    hostname: str
    channel_names: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)

    def describe(self) -> str:
        rate = f"{self.fs_hz:g} Hz" if self.fs_hz > 0 else "irregular"
        return (
            f"lsl:{self.name}  type {self.type}, {self.n_channels} ch, {rate}, {self.channel_format}, "
            f"on {self.hostname}"
        )


_FORMAT_NAMES = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}


def _channel_desc(info: Any) -> tuple[list[str], list[str], list[str]]:
    """Labels, units and muscles from ``desc/channels/channel`` (empty strings where absent)."""
    labels: list[str] = []
    units: list[str] = []
    muscles: list[str] = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < info.channel_count():
        labels.append(ch.child_value("label"))
        units.append(ch.child_value("unit"))
        muscles.append(ch.child_value("muscle"))
        ch = ch.next_sibling("channel")
    return labels, units, muscles


def _summary(info: Any) -> StreamSummary:
    labels, units, _ = _channel_desc(info)
    return StreamSummary(
        name=info.name(),
        type=info.type(),
        n_channels=info.channel_count(),
        fs_hz=float(info.nominal_srate()),
        channel_format=_FORMAT_NAMES.get(info.channel_format(), str(info.channel_format())),
        source_id=info.source_id(),
        hostname=info.hostname(),
        channel_names=labels,
        units=units,
    )


def list_streams(timeout_s: float = 2.0, *, local: bool | None = None) -> list[StreamSummary]:
    """Every LSL stream visible within ``timeout_s`` (machine-local unless configured otherwise).

    Wait at least 1.5 s: liblsl up to 1.18 lets only one outlet per machine answer the first,
    shared-port query (sccn/liblsl#282); the per-port unicast queries that find the others follow.
    """
    pylsl = _pylsl(local)
    return [_summary(info) for info in pylsl.resolve_streams(wait_time=float(timeout_s))]


def parse_board_name(board: str) -> str | None:
    """``"lsl:NAME"`` -> ``"NAME"``; None for any other board name; ConfigError for ``"lsl:"``."""
    if not board or not board.strip().lower().startswith("lsl:"):
        return None
    name = board.strip()[4:].strip()
    if not name:
        raise ConfigError(
            "board 'lsl:' needs a stream name, e.g. --board lsl:OpenBCI_EMG (list them: emg boards --lsl)"
        )
    return name


def _uv_factors(units: list[str], n: int, stream: str) -> tuple[np.ndarray, list[str]]:
    import numpy as np

    factors = np.ones(n)
    notes = []
    for i in range(n):
        unit = (units[i] if i < len(units) else "").strip()
        if not unit:
            notes.append(f"channel {i + 1} declares no unit")
            continue
        factor = UNIT_TO_UV.get(unit.lower())
        if factor is None:
            raise BoardError(
                f"LSL stream '{stream}' channel {i + 1} is in {unit!r}, not a voltage; "
                "send EMG in V, mV or uV (desc/channels/channel/unit)"
            )
        factors[i] = factor
    if notes:
        log.warning("LSL stream '%s': %s; assuming microvolts", stream, "; ".join(notes[:3]))
    return factors, notes


class LslSource:
    """An LSL stream as the board: ``--board lsl:NAME``.

    ``open()`` resolves the stream ``name`` (exact LSL name; ``stream_type`` narrows it) within
    ``resolve_timeout_s``; ``read(timeout_s)`` returns ``(data_uv (C, n) float64, timestamps (n,) unix
    seconds)`` or None when nothing arrived yet; ``close()`` drops the inlet. Attributes after
    ``open()``: ``fs_hz``, ``n_channels``, ``channel_names``, ``muscles``, ``units``, ``board_name``,
    ``info`` (a :class:`StreamSummary`), ``samples_read``.
    Errors (BoardError, one line): no such stream; a string or irregular-rate stream; channels not
    in a voltage unit; a stream that stops sending for ``stall_timeout_s`` or disappears.
    Also a context manager.
    """

    def __init__(
        self,
        name: str,
        *,
        stream_type: str | None = None,
        resolve_timeout_s: float = 5.0,
        stall_timeout_s: float = 1.0,
        max_buffer_s: int = 60,
        local: bool | None = None,
    ) -> None:
        if name.lower().startswith("lsl:"):
            name = parse_board_name(name) or name
        if not name or "'" in name or '"' in name:
            raise ConfigError(f"LSL stream name {name!r} is empty or holds quotes; give the exact stream name")
        self.name = name
        self.stream_type = stream_type
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.stall_timeout_s = float(stall_timeout_s)
        self.max_buffer_s = int(max_buffer_s)
        self._local = local
        self._inlet = None
        self.fs_hz = 0.0
        self.n_channels = 0
        self.channel_names: list[str] = []
        self.muscles: list[str] = []
        self.units: list[str] = []
        self.board_name = f"lsl:{name}"
        self.info: StreamSummary | None = None
        self.samples_read = 0
        self._factors: Any = None
        self._offset_s = 0.0
        self._last_data = 0.0

    def open(self) -> LslSource:
        """Resolve the stream and open an inlet; BoardError when it is not found or unusable."""

        pylsl = _pylsl(self._local)
        pred = f"name='{self.name}'" + (f" and type='{self.stream_type}'" if self.stream_type else "")
        found = pylsl.resolve_bypred(pred, 1, self.resolve_timeout_s)
        if not found:
            others = [s.name() for s in pylsl.resolve_streams(wait_time=0.3)]
            hint = f"streams seen: {', '.join(sorted(set(others)))}" if others else "no LSL stream is running here"
            raise BoardError(
                f"no LSL stream named '{self.name}' found within {self.resolve_timeout_s:g} s "
                f"({hint}); start the sender or fix --board lsl:NAME"
            )
        info = found[0]
        if info.channel_format() == pylsl.cf_string:
            raise BoardError(
                f"LSL stream '{self.name}' carries strings (markers), not EMG samples; pick the sender's EMG stream"
            )
        if info.nominal_srate() <= 0:
            raise BoardError(
                f"LSL stream '{self.name}' has an irregular rate; EMG needs a stream with a nominal sampling rate"
            )
        self._inlet = pylsl.StreamInlet(
            info,
            max_buflen=self.max_buffer_s,
            recover=False,
            processing_flags=pylsl.proc_clocksync | pylsl.proc_dejitter,
        )
        full = self._inlet.info(timeout=max(1.0, self.resolve_timeout_s))
        self.info = _summary(full)
        self.fs_hz = float(full.nominal_srate())
        self.n_channels = int(full.channel_count())
        labels, units, muscles = _channel_desc(full)
        self.channel_names = [lab or f"ch{i + 1}" for i, lab in enumerate(labels)] + [
            f"ch{i + 1}" for i in range(len(labels), self.n_channels)
        ]
        self.units = units + [""] * (self.n_channels - len(units))
        self.muscles = muscles if any(muscles) else []
        self._factors, _ = _uv_factors(self.units, self.n_channels, self.name)
        self._inlet.open_stream(timeout=max(1.0, self.resolve_timeout_s))
        self._offset_s = lsl_clock_offset_s()
        self._last_data = time.monotonic()
        log.info("LSL source %s: %d ch at %g Hz from %s", self.name, self.n_channels, self.fs_hz, self.info.hostname)
        return self

    def read(self, timeout_s: float = 0.1) -> tuple[np.ndarray, np.ndarray] | None:
        """Next chunk ``(data_uv (C, n), timestamps (n,))`` or None; BoardError on a stalled stream."""
        import numpy as np

        if self._inlet is None:
            raise BoardError(f"LSL source '{self.name}' is not open; call open() first")
        from pylsl.util import LostError

        try:
            samples, stamps = self._inlet.pull_chunk(
                timeout=max(0.0, float(timeout_s)), max_samples=max(1, int(self.fs_hz * 2))
            )
        except LostError:
            raise BoardError(
                f"LSL stream '{self.name}' was lost (the sender closed it); restart the sender and the recording"
            ) from None
        now = time.monotonic()
        if not stamps:
            silent = now - self._last_data
            # before the first sample the sender gets FIRST_DATA_GRACE_S more to start streaming
            limit = self.stall_timeout_s + (0.0 if self.samples_read else FIRST_DATA_GRACE_S)
            if silent > limit:
                raise BoardError(
                    f"LSL stream '{self.name}' stopped sending for {silent:.1f} s; "
                    "check the sending program (everything received so far is kept)"
                )
            return None
        self._last_data = now
        data = np.asarray(samples, dtype=np.float64).T * self._factors[:, None]
        ts = np.asarray(stamps, dtype=np.float64) + self._offset_s
        self.samples_read += data.shape[1]
        return data, ts

    def close(self) -> None:
        """Close the inlet (idempotent)."""
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            except Exception:  # noqa: BLE001 - closing a dead inlet must not mask the real error
                pass
            self._inlet = None

    def __enter__(self) -> LslSource:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- command-line hooks


def add_lsl_options(parser: Any, *, default_name: str = "emg") -> None:
    """Add ``--lsl [NAME]`` and ``--lsl-scope local|network`` to an ``emg`` subcommand's parser."""
    parser.add_argument(
        "--lsl",
        nargs="?",
        const=default_name,
        default=None,
        metavar="NAME",
        help="publish the session on Lab Streaming Layer: NAME-raw (EMG, uV), NAME-activation "
        f"(%% of reference), NAME-markers (events); NAME defaults to '{default_name}'",
    )
    parser.add_argument(
        "--lsl-scope",
        choices=("local", "network"),
        default=None,
        help="local (default): LSL stays on this computer (loopback-only liblsl config); "
        "network: liblsl defaults, visible to other computers. LSLAPICFG, when set, wins",
    )


def publisher_from_args(
    args: Any,
    *,
    fs_hz: float,
    channel_names: Sequence[str],
    muscles: Sequence[str] | None = None,
    device: str = "",
    activation: bool = True,
    reference_kind: str = "",
) -> LslPublisher | None:
    """The :class:`LslPublisher` asked for by ``--lsl`` (None without it). Prints nothing; logs the scope."""
    name = getattr(args, "lsl", None)
    if not name:
        return None
    scope = getattr(args, "lsl_scope", None)
    local = None if scope is None else scope == "local"
    if "pylsl" not in sys.modules:
        log.info(configure_lsl(local))
    return LslPublisher(
        name,
        fs_hz=fs_hz,
        channel_names=channel_names,
        muscles=muscles,
        device=device,
        activation=activation,
        reference_kind=reference_kind,
        local=local,
    )


class SessionPublisher:
    """``--lsl`` for a live session, safe to call whether or not LSL was asked for.

    ``SessionPublisher(args.lsl, args.lsl_scope)`` (name None: every method is a no-op). ``start()``
    opens the outlets once the board's rate and channels are known (again after a reconnect: no-op,
    the streams go on for the whole session); ``raw()``, ``activation()``, ``event()`` forward to
    :class:`LslPublisher`; ``close()`` at the end. Errors opening the outlets are raised by
    ``start()`` (ConfigError); pushing never raises.
    """

    def __init__(self, name: str | None, scope: str | None = None) -> None:
        self.name = name or None
        self.local = None if scope is None else scope == "local"
        self.publisher: LslPublisher | None = None

    def start(
        self,
        *,
        fs_hz: float,
        channel_names: Sequence[str],
        muscles: Sequence[str] | None = None,
        device: str = "",
        reference_kind: str = "",
        activation: bool = True,
    ) -> None:
        if self.name is None or self.publisher is not None:
            return
        if "pylsl" not in sys.modules:
            log.info(configure_lsl(self.local))
        self.publisher = LslPublisher(
            self.name,
            fs_hz=fs_hz,
            channel_names=channel_names,
            muscles=muscles,
            device=device,
            reference_kind=reference_kind,
            local=self.local,
            activation=activation,
        )

    @property
    def stream_names(self) -> list[str]:
        return self.publisher.stream_names if self.publisher is not None else []

    def raw(self, chunk_uv: Any, timestamps: Any = None) -> None:
        if self.publisher is not None:
            try:
                self.publisher.push_raw(chunk_uv, timestamps)
            except Exception as err:  # noqa: BLE001 - LSL must never stop a session
                log.warning("LSL raw push failed: %s", err)

    def activation(self, pct: Any, timestamps: Any = None) -> None:
        if self.publisher is not None:
            try:
                self.publisher.push_activation(pct, timestamps)
            except Exception as err:  # noqa: BLE001
                log.warning("LSL activation push failed: %s", err)

    def event(self, label: str, data: dict[str, Any] | None = None) -> None:
        if self.publisher is not None:
            try:
                self.publisher.push_marker(label, data)
            except Exception as err:  # noqa: BLE001
                log.warning("LSL marker push failed: %s", err)

    def close(self) -> None:
        if self.publisher is not None:
            self.publisher.close()


class LslMarkerSource:
    """Markers from another program (a stimulus or experiment script) to record as events.

    ``LslMarkerSource(name).open()`` resolves a string stream (``type`` usually ``Markers``);
    ``poll()`` returns ``[(label, unix_time_s), ...]`` received since the last call (the first
    channel of each sample is the label); ``close()``. A session puts each marker into its
    recording at the sample whose board timestamp is nearest ``unix_time_s``.
    """

    def __init__(self, name: str, *, resolve_timeout_s: float = 5.0, local: bool | None = None) -> None:
        if not name or "'" in name or '"' in name:
            raise ConfigError(f"LSL marker stream name {name!r} is empty or holds quotes; give the exact name")
        self.name = name
        self.resolve_timeout_s = float(resolve_timeout_s)
        self._local = local
        self._inlet = None
        self._offset_s = 0.0
        self.received = 0

    def open(self) -> LslMarkerSource:
        pylsl = _pylsl(self._local)
        found = pylsl.resolve_bypred(f"name='{self.name}'", 1, self.resolve_timeout_s)
        if not found:
            raise BoardError(
                f"no LSL marker stream named '{self.name}' found within {self.resolve_timeout_s:g} s; "
                "start the program that sends it or fix the name"
            )
        if found[0].channel_format() != pylsl.cf_string:
            raise BoardError(f"LSL stream '{self.name}' carries numbers, not markers; give its marker stream")
        self._inlet = pylsl.StreamInlet(found[0], max_buflen=360, recover=True, processing_flags=pylsl.proc_clocksync)
        self._inlet.open_stream(timeout=max(1.0, self.resolve_timeout_s))
        self._offset_s = lsl_clock_offset_s()
        return self

    def poll(self) -> list[tuple[str, float]]:
        """Markers received since the last call, oldest first: ``[(label, unix_time_s)]``."""
        if self._inlet is None:
            return []
        try:
            samples, stamps = self._inlet.pull_chunk(timeout=0.0, max_samples=1000)
        except Exception as err:  # noqa: BLE001 - markers are an extra: never stop a recording
            log.warning("LSL marker stream '%s': %s", self.name, err)
            return []
        out = [(str(s[0]) if s else "", float(t) + self._offset_s) for s, t in zip(samples, stamps, strict=False)]
        self.received += len(out)
        return out

    def close(self) -> None:
        if self._inlet is not None:
            try:
                self._inlet.close_stream()
            except Exception:  # noqa: BLE001
                pass
            self._inlet = None

    def __enter__(self) -> LslMarkerSource:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_at_time(timestamps: Any, first_sample: int, unix_time_s: float) -> int:
    """Index (since the start) of the sample in a chunk whose timestamp is nearest ``unix_time_s``."""
    import numpy as np

    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size == 0:
        return int(first_sample)
    return int(first_sample + int(np.argmin(np.abs(ts - unix_time_s))))
