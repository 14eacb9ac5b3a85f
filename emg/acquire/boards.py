"""Board presets: which BrainFlow board, which rows carry EMG, at what rate and gain.

A :class:`BoardPreset` is plain data (no BrainFlow import), so ``emg boards`` and option parsing
stay instant. Row numbers are BrainFlow's board descriptions (checked against
``BoardShim.get_board_descr`` in the tests).

The Cyton presets put every channel in bipolar (differential) EMG mode with
:func:`bipolar_emg_commands`: channel on, the chosen PGA gain, normal electrode input,
included in the bias drive, SRB2 off, SRB1 off (``x<ch>0<gain>0100X``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from emg.errors import ConfigError

#: ADS1299 (Cyton) reference: full scale is +-4.5 V / gain.
ADS1299_VREF_V = 4.5
#: PGA gains the ADS1299 accepts, in the order of their command digit 0-6.
CYTON_GAINS = (1, 2, 4, 6, 8, 12, 24)
#: Channel letters in the Cyton protocol: 1-8 on the Cyton, Q-I on the Daisy.
CYTON_CHANNEL_LETTERS = "12345678QWERTYUI"


#: The Ganglion's ADC limit in uV (MCP3912, 1.2 V reference, fixed gain 51).
GANGLION_RAIL_UV = 1.2e6 / 51


def cyton_scale_uv_per_count(gain: int) -> float:
    """Microvolts per ADC count on a Cyton channel at PGA ``gain`` (0.0223517 uV at gain 24)."""
    return ADS1299_VREF_V / gain / (2**23 - 1) * 1e6


def cyton_rail_uv(gain: int) -> float:
    """The ADC limit in microvolts at ``gain`` (187,500 uV at gain 24)."""
    return ADS1299_VREF_V / gain * 1e6


def gain_code(gain: int) -> str:
    """The Cyton command digit for a PGA ``gain``; ConfigError if the ADS1299 has no such gain."""
    if gain not in CYTON_GAINS:
        raise ConfigError(f"gain {gain} is not an ADS1299 gain; use one of {', '.join(map(str, CYTON_GAINS))}")
    return str(CYTON_GAINS.index(gain))


def bipolar_emg_commands(n_channels: int, gain: int) -> str:
    """Channel-setting commands putting ``n_channels`` Cyton channels in bipolar EMG mode at ``gain``.

    Per channel ``x <ch> 0 <gain> 0 1 0 0 X``: powered on, PGA gain, normal (differential)
    input, in the bias drive, SRB2 disconnected, SRB1 disconnected.
    """
    code = gain_code(gain)
    return "".join(f"x{letter}0{code}0100X" for letter in CYTON_CHANNEL_LETTERS[:n_channels])


@dataclass(frozen=True)
class BoardPreset:
    """A board as the project uses it. Rows index BrainFlow's board data array."""

    name: str
    board_id: int
    fs_hz: float
    exg_rows: tuple[int, ...]
    accel_rows: tuple[int, ...]
    timestamp_row: int
    marker_row: int
    package_num_row: int
    num_rows: int
    needs_serial_port: bool
    default_gain: int | None
    rail_uv: float | None
    description: str
    #: channel-setting commands are supported (Cyton family): gain and bipolar mode are set
    configurable_gain: bool = False
    #: a file is streamed (playback)
    needs_file: bool = False
    #: largest package number before it wraps to 0 (BrainFlow's package counter)
    package_num_max: int = 255
    #: fixed scale of the board's own channels in uV per count where known (documentation only)
    uv_per_count: float | None = None
    #: for playback: the board the file was recorded from
    master_board_id: int | None = None
    channel_prefix: str = "ch"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def n_channels(self) -> int:
        return len(self.exg_rows)

    def channel_names(self) -> list[str]:
        """Default channel names ``ch1`` ... ``chN``."""
        return [f"{self.channel_prefix}{i + 1}" for i in range(self.n_channels)]

    def rail_for_gain(self, gain: int | None) -> float | None:
        """ADC limit in uV at ``gain`` (Cyton family), else the preset's fixed ``rail_uv``."""
        if self.configurable_gain and gain:
            return cyton_rail_uv(gain)
        return self.rail_uv


_SYNTHETIC = BoardPreset(
    name="synthetic",
    board_id=-1,
    fs_hz=250.0,
    exg_rows=tuple(range(1, 17)),
    accel_rows=(17, 18, 19),
    timestamp_row=30,
    marker_row=31,
    package_num_row=0,
    num_rows=32,
    needs_serial_port=False,
    default_gain=None,
    rail_uv=None,
    description="BrainFlow synthetic board: 16 channels of sines + noise at 250 Hz (no hardware; not EMG-like)",
)

_CYTON = BoardPreset(
    name="cyton",
    board_id=0,
    fs_hz=250.0,
    exg_rows=tuple(range(1, 9)),
    accel_rows=(9, 10, 11),
    timestamp_row=22,
    marker_row=23,
    package_num_row=0,
    num_rows=24,
    needs_serial_port=True,
    default_gain=24,
    rail_uv=cyton_rail_uv(24),
    description="OpenBCI Cyton (USB dongle): 8 bipolar EMG channels at 250 Hz, ADS1299",
    configurable_gain=True,
    uv_per_count=cyton_scale_uv_per_count(24),
)

_CYTON_DAISY = BoardPreset(
    name="cyton-daisy",
    board_id=2,
    fs_hz=125.0,
    exg_rows=tuple(range(1, 17)),
    accel_rows=(17, 18, 19),
    timestamp_row=30,
    marker_row=31,
    package_num_row=0,
    num_rows=32,
    needs_serial_port=True,
    default_gain=24,
    rail_uv=cyton_rail_uv(24),
    description="OpenBCI Cyton + Daisy (USB dongle): 16 bipolar EMG channels at 125 Hz",
    configurable_gain=True,
    uv_per_count=cyton_scale_uv_per_count(24),
)

_GANGLION = BoardPreset(
    name="ganglion",
    board_id=1,
    fs_hz=200.0,
    exg_rows=(1, 2, 3, 4),
    accel_rows=(5, 6, 7),
    timestamp_row=13,
    marker_row=14,
    package_num_row=0,
    num_rows=15,
    needs_serial_port=True,
    default_gain=51,
    rail_uv=GANGLION_RAIL_UV,
    description="OpenBCI Ganglion (BLED112 dongle): 4 channels at 200 Hz, fixed gain 51",
    package_num_max=200,
)

_PLAYBACK = BoardPreset(
    name="playback",
    board_id=-3,
    fs_hz=_SYNTHETIC.fs_hz,
    exg_rows=_SYNTHETIC.exg_rows,
    accel_rows=_SYNTHETIC.accel_rows,
    timestamp_row=_SYNTHETIC.timestamp_row,
    marker_row=_SYNTHETIC.marker_row,
    package_num_row=_SYNTHETIC.package_num_row,
    num_rows=_SYNTHETIC.num_rows,
    needs_serial_port=False,
    default_gain=None,
    rail_uv=None,
    description="BrainFlow playback board: replays a recording (PATH.csv + PATH.json) at its own rate",
    needs_file=True,
    master_board_id=-1,
)

#: Presets by name, in the order ``emg boards`` lists them.
PRESETS: dict[str, BoardPreset] = {p.name: p for p in (_SYNTHETIC, _PLAYBACK, _CYTON, _CYTON_DAISY, _GANGLION)}


def get_preset(name: str) -> BoardPreset:
    """The preset called ``name``; ConfigError naming the known ones otherwise.

    ``lsl:NAME`` names are handled by the LSL source (emg.acquire.lsl), not here.
    """
    key = (name or "").strip().lower()
    if key in PRESETS:
        return PRESETS[key]
    if key.startswith("lsl:"):
        raise ConfigError(f"board {name!r} is an LSL stream; it is opened by the LSL source, not a BrainFlow preset")
    raise ConfigError(f"unknown board {name!r}; use one of: {', '.join(PRESETS)} (see `emg boards`)")


def preset_for_board_id(board_id: int) -> BoardPreset:
    """The preset recording ``board_id`` (used for a recording's master board)."""
    for preset in PRESETS.values():
        if preset.board_id == board_id and not preset.needs_file:
            return preset
    raise ConfigError(
        f"board id {board_id} has no preset; supported ids: "
        + ", ".join(f"{p.board_id} ({p.name})" for p in PRESETS.values() if not p.needs_file)
    )


def playback_preset(master: BoardPreset, fs_hz: float) -> BoardPreset:
    """The playback preset for a file recorded from ``master`` at ``fs_hz`` (rows of the master)."""
    return replace(
        _PLAYBACK,
        fs_hz=float(fs_hz),
        exg_rows=master.exg_rows,
        accel_rows=master.accel_rows,
        timestamp_row=master.timestamp_row,
        marker_row=master.marker_row,
        package_num_row=master.package_num_row,
        num_rows=master.num_rows,
        package_num_max=master.package_num_max,
        master_board_id=master.board_id,
        default_gain=master.default_gain,
        rail_uv=master.rail_uv,
        uv_per_count=master.uv_per_count,
    )
