"""Board presets agree with BrainFlow's own board descriptions; Cyton EMG settings are exact."""

import pytest
from brainflow.board_shim import BoardShim

from emg.acquire.boards import (
    PRESETS,
    bipolar_emg_commands,
    cyton_rail_uv,
    cyton_scale_uv_per_count,
    get_preset,
    playback_preset,
    preset_for_board_id,
)
from emg.errors import ConfigError


@pytest.mark.parametrize("name", ["synthetic", "cyton", "cyton-daisy", "ganglion"])
def test_preset_rows_match_brainflow(name):
    p = get_preset(name)
    d = BoardShim.get_board_descr(p.board_id)
    assert p.fs_hz == d["sampling_rate"]
    assert list(p.exg_rows) == d["emg_channels"]
    assert list(p.accel_rows) == d["accel_channels"]
    assert p.timestamp_row == d["timestamp_channel"]
    assert p.marker_row == d["marker_channel"]
    assert p.package_num_row == d["package_num_channel"]
    assert p.num_rows == d["num_rows"]


def test_board_ids_and_serial_needs():
    assert {n: p.board_id for n, p in PRESETS.items()} == {
        "synthetic": -1,
        "playback": -3,
        "cyton": 0,
        "cyton-daisy": 2,
        "ganglion": 1,
    }
    assert [n for n, p in PRESETS.items() if p.needs_serial_port] == ["cyton", "cyton-daisy", "ganglion"]
    assert get_preset("playback").needs_file


def test_cyton_scale_and_rail_are_exact():
    assert cyton_scale_uv_per_count(24) == pytest.approx(4.5 / 24 / (2**23 - 1) * 1e6, rel=1e-15)
    assert round(cyton_scale_uv_per_count(24), 7) == 0.0223517
    assert cyton_rail_uv(24) == 187500.0
    assert get_preset("cyton").rail_for_gain(12) == 375000.0


def test_bipolar_commands_turn_srb2_off_at_the_gain():
    assert bipolar_emg_commands(2, 24) == "x1060100Xx2060100X"
    daisy = bipolar_emg_commands(16, 8)
    assert len(daisy) == 16 * 9
    assert daisy[-9:] == "xI040100X"
    for i in range(16):
        cmd = daisy[9 * i : 9 * i + 9]
        assert cmd[6] == "0" and cmd[7] == "0"  # SRB2 off, SRB1 off


def test_bad_gain_and_unknown_board_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="gain 5 is not an ADS1299 gain"):
        bipolar_emg_commands(8, 5)
    with pytest.raises(ConfigError) as err:
        get_preset("cytn")
    msg = str(err.value)
    assert "\n" not in msg and "unknown board 'cytn'" in msg and "cyton-daisy" in msg


def test_playback_preset_takes_master_rows_and_file_rate():
    p = playback_preset(preset_for_board_id(2), 125.0)
    assert p.board_id == -3 and p.master_board_id == 2 and p.fs_hz == 125.0
    assert p.num_rows == 32 and p.exg_rows == tuple(range(1, 17))
    with pytest.raises(ConfigError, match="board id 99 has no preset"):
        preset_for_board_id(99)
