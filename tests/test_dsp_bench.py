"""``emg bench --quick --json`` (the signal-core benchmark, emg.bench.signal_core): runs end to end and reports
every key the issue names; the streaming rows time the live chain (dsp.live.LiveChain)."""

from __future__ import annotations

import json

from emg.cli import main


def test_bench_quick_json_has_the_documented_keys(capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    keys = {"batch", "stream", "stream_adaptive", "max_abs_diff_vs_scipy", "stream_vs_batch_max_abs_diff", "envelopes"}
    assert keys | {"machine"} <= set(res)
    assert [(r["channels"], r["fs"]) for r in res["batch"]] == [(8, 250.0), (16, 250.0), (8, 1000.0), (16, 1000.0)]
    for r in res["batch"]:
        assert {"channels", "fs", "seconds", "ratio_vs_scipy", "ratio_vs_brainflow"} <= set(r)
        assert r["ratio_vs_scipy"] > 0 and r["ratio_vs_brainflow"] > 0
    for key, envelope in (("stream", "linear"), ("stream_adaptive", "adaptive")):
        assert [r["chunk"] for r in res[key]] == [1, 10, 32]
        for r in res[key]:
            assert {"channels", "chunk", "fs", "calls", "median_us", "p99_us", "scipy_median_us"} <= set(r)
            assert r["channels"] == 16 and r["envelope"] == envelope
            assert 0 < r["median_us"] <= r["p99_us"] and r["ratio_vs_scipy"] > 0
    # the kernels follow scipy's operation order: exact, and streaming equals batch exactly
    assert res["max_abs_diff_vs_scipy"] <= 1e-9
    assert res["stream_vs_batch_max_abs_diff"] == 0.0
    names = {(e["name"], e["fs"]) for e in res["envelopes"]}
    assert names == {(m, fs) for m in ("linear", "rms", "tkeo", "adaptive") for fs in (1000.0, 250.0)}
    for e in res["envelopes"]:
        assert e["rise_lag_ms"] > 0 and 0 < e["steady_cv"] < 1


def test_bench_rejects_meaningless_options(capsys):
    assert main(["bench", "--seconds", "1"]) != 0
    assert "error:" in capsys.readouterr().err
