"""``emg bench NAME ...``: every benchmark of emg.bench is reachable from the command, ``--analysis`` still
means "the signal core and the analysis", and each runs end to end in a quick run."""

from __future__ import annotations

import json

import pytest

from emg.cli import build_parser, main
from emg.commands.bench import BENCHMARKS, chosen_benchmarks


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["signal"]),
        (["--analysis"], ["signal", "analysis"]),  # as before the names existed
        (["analysis"], ["analysis"]),
        (["export", "drills", "drills"], ["drills", "export"]),  # one run each, in a fixed order
        (["all"], list(BENCHMARKS)),
    ],
)
def test_bench_names_choose_the_benchmarks(argv, expected):
    assert chosen_benchmarks(build_parser().parse_args(["bench", *argv])) == expected


def test_bench_unknown_name_is_a_one_line_error(capsys):
    assert main(["bench", "speed"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark speed" in err and "drills" in err


def test_bench_other_benchmarks_quick_json(capsys):
    argv = ["bench", "analysis", "drills", "simulation", "export", "--quick", "--channels", "4", "--json"]
    assert main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) == {"analysis", "drills", "simulation", "export", "machine"}  # no signal-core keys
    a = res["analysis"]
    assert a["minutes"] == 2.0 and a["channels"] == 4 and a["analysis_s"] > 0
    assert a["activations_found_per_channel"][0] > 0
    d = res["drills"]
    assert d["calls"] == 300 and d["rows"]
    assert all(0 < r["median_us"] <= r["p99_us"] <= r["max_us"] for r in d["rows"])
    s = res["simulation"]
    assert s["gen_16ch_1khz"]["simulated_s"] == 120.0 and s["gen_16ch_1khz"]["x_realtime"] > 0
    e = res["export"]
    assert e["channels"] == 4 and e["bdf"]["ratio_vs_pyedflib"] > 0
    assert e["bdf"]["max_error_uv"] <= e["bdf"]["error_bound_uv"] * (1 + 1e-9)
    assert e["lsl"]["received"] == e["lsl"]["sent"] > 0
