"""Drill TOML files: every shipped file loads; every error names the file, the field and its line."""

from __future__ import annotations

import pytest

from emg.cli import main
from feedback.drills import DRILL_CLASSES, find_drill, load_drill, make_drill, parse_drill, shipped_drills
from feedback.errors import DrillConfigError

GOOD = """kind = "reach_hold"
name = "Quads"

[target]
channel = 1
band_pct = [40, 60]
hold_s = 3

[protocol]
reps = 4
rest_threshold_pct = 10
"""


def test_every_kind_has_a_shipped_example_that_builds():
    kinds = set()
    for path in shipped_drills():
        cfg = load_drill(path)
        kinds.add(cfg.kind)
        drill = make_drill(cfg, fs_hz=250.0, n_channels=8)
        assert drill.kind == cfg.kind and not drill.finished
        assert cfg.describe()
    assert kinds == set(DRILL_CLASSES)


def test_defaults_are_filled_in():
    cfg = parse_drill(GOOD)
    assert cfg.params["protocol"]["reps"] == 4
    assert cfg.params["protocol"]["sets"] == 1
    assert cfg.params["protocol"]["work_s"] == 10.0
    assert cfg.params["target"]["band_pct"] == (40.0, 60.0)
    assert cfg.params["shaping"]["enabled"] is False


@pytest.mark.parametrize(
    "edit, message",
    [
        (("hold_s = 3", 'hold_s = "three"'), r"line 7: \[target\] hold_s must be a number \(got 'three'\)"),
        (("hold_s = 3", "hold_s = -1"), r"line 7: \[target\] hold_s must be > 0"),
        (
            ("hold_s = 3\n", ""),
            r"line 4: \[target\] hold_s is missing .*add it under \[target\]: write e.g. hold_s = 3",
        ),
        (("band_pct = [40, 60]", "band_pct = [60, 40]"), r"line 6: \[target\] band_pct must have 0 <= low < high"),
        (("band_pct = [40, 60]", "band_pct = 50"), r"line 6: \[target\] band_pct must be a band"),
        (("reps = 4", "reps = 2.5"), r"line 10: \[protocol\] reps must be a whole number"),
        (("reps = 4", "repz = 4"), r"line 10: \[protocol\] repz is an unknown field .*did you mean 'reps'\?"),
        (("channel = 1", "channel = 0"), r"line 5: \[target\] channel must be a channel number from 1"),
        (
            ("band_pct = [40, 60]", "band_pct = [20, 500]"),
            r"line 6: \[target\] band_pct must have 0 <= low < high <= 200",
        ),
        (
            ("band_pct = [40, 60]", "band_pct = [250, 300]"),
            r"line 6: \[target\] band_pct must have 0 <= low < high <= 200",
        ),
        (("channel = 1", "channel = 99"), r"line 5: \[target\] channel must be a channel number from 1 to 16 \(got 99"),
        (("channel = 1", "channel = 17"), r"line 5: \[target\] channel must be a channel number from 1 to 16 \(got 17"),
        (
            ('kind = "reach_hold"', 'kind = "reach_and_hold"'),
            r"line 1: kind is 'reach_and_hold', not a drill kind; did you mean 'reach_hold'",
        ),
        (('kind = "reach_hold"\n', ""), r"kind is missing"),
        (("[protocol]", "[protocoll]"), r"line 9: \[protocoll\] is not a table .*did you mean \[protocol\]"),
        (
            ("rest_threshold_pct = 10", "rest_threshold_pct = 45"),
            r"line 11: \[protocol\] rest_threshold_pct \(45\) must be below the band's low edge",
        ),
        (("reps = 4", "reps = 4\nwork_s = 2"), r"line 11: \[protocol\] work_s \(2 s\) is shorter than the hold"),
        (("hold_s = 3", "hold_s = 3 3"), r"is not valid TOML: .*line 7"),
    ],
)
def test_errors_name_field_and_line(edit, message):
    text = GOOD.replace(*edit)
    with pytest.raises(DrillConfigError, match=message) as info:
        parse_drill(text)
    assert "\n" not in str(info.value)


def test_missing_table_says_what_to_add():
    text = GOOD.split("[target]")[0] + "[protocol]\nreps = 4\n"
    with pytest.raises(
        DrillConfigError,
        match=r"table \[target\] is missing \(kind 'reach_hold' needs it\); add "
        r"after line 5: \[target\] with channel = 1, band_pct = \[40, 60\], hold_s = 3",
    ):
        parse_drill(text)


def test_array_of_tables_error_names_the_block():
    text = find_drill("awareness_fading").read_text().replace("feedback_every = 2", "feedback_every = -1")
    with pytest.raises(DrillConfigError, match=r"line \d+: \[\[blocks\]\] #2 feedback_every must be >= 0"):
        parse_drill(text)
    line = int(str(pytest.raises(DrillConfigError, parse_drill, text).value).split("line ")[1].split(":")[0])
    assert "feedback_every = -1" in text.splitlines()[line - 1]


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(DrillConfigError, match="not found; check the path or run `emg drills`"):
        load_drill(tmp_path / "nope.toml")
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe\x00kind")
    with pytest.raises(DrillConfigError, match="cannot be read"):
        load_drill(bad)
    with pytest.raises(DrillConfigError, match="not found .* one of: .*awareness_fading"):
        find_drill("no_such_drill")
    assert find_drill("reach_hold_demo").name == "reach_hold_demo.toml"


def test_emg_drills_lists_and_checks(tmp_path, capsys):
    assert main(["drills"]) == 0
    out = capsys.readouterr().out
    assert "reach_hold_quadriceps" in out and "tracking" in out and f"{len(shipped_drills())} drills" in out
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert main(["drills", "--check", str(good)]) == 0
    assert "ok:" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("hold_s = 3", "hold_s = true"))
    assert main(["drills", "--check", str(bad)]) == 2
    captured = capsys.readouterr()
    assert "line 7: [target] hold_s must be a number (got True)" in captured.out
    assert captured.err.startswith("error: 1 of 1 drill files have errors")
    assert main(["drills", "--show", "reach_hold_demo"]) == 0
    assert 'kind = "reach_hold"' in capsys.readouterr().out
    assert main(["drills", "--json", "--dir", str(tmp_path)]) == 0
    assert '"error": null' in capsys.readouterr().out


def test_check_refuses_band_above_200_and_channel_beyond_16(tmp_path, capsys):
    for edit, field in (
        (("band_pct = [40, 60]", "band_pct = [20, 500]"), "band_pct"),
        (("channel = 1", "channel = 99"), "channel"),
    ):
        path = tmp_path / f"{field}.toml"
        path.write_text(GOOD.replace(*edit))
        capsys.readouterr()
        assert main(["drills", "--check", str(path)]) == 2
        out = capsys.readouterr()
        err = out.err.strip()
        assert "\n" not in err and err.startswith("error: 1 of 1 drill files have errors"), err
        assert f"line {5 if field == 'channel' else 6}: [target] {field} must" in out.out, out.out
    edge = tmp_path / "edge.toml"
    edge.write_text(GOOD.replace("band_pct = [40, 60]", "band_pct = [150, 200]").replace("channel = 1", "channel = 16"))
    assert main(["drills", "--check", str(edge)]) == 0
