"""Sample-to-screen latency bookkeeping: exact figures from known timestamps, and the report text."""

from __future__ import annotations

import numpy as np
import pytest

from emg.live.latency import LatencyMeter, format_latency_report


def test_each_sample_counts_once_at_the_frame_that_first_shows_it():
    m = LatencyMeter()
    m.samples_shown(np.array([100.000, 100.004, 100.008]))
    m.samples_shown(np.array([100.012]))
    m.frame_painted(100.020, draw_s=0.002)  # 20, 16, 12, 8 ms
    m.frame_painted(100.037, draw_s=0.003)  # nothing new: no latency
    m.samples_shown(np.array([100.030]))
    m.frame_painted(100.040, draw_s=0.001)  # 10 ms
    lat = m.latency_s * 1000
    assert lat == pytest.approx([20.0, 16.0, 12.0, 8.0, 10.0], abs=1e-6)
    r = m.report()
    assert r["latency_ms"]["n"] == 5
    assert r["latency_ms"]["p50"] == pytest.approx(12.0, abs=1e-3)
    assert r["latency_ms"]["max"] == pytest.approx(20.0, abs=1e-3)
    assert r["latency_ms"]["p95"] == pytest.approx(float(np.percentile([20, 16, 12, 8, 10], 95)), abs=1e-3)
    assert r["frame_ms"]["n"] == 3 and r["frame_ms"]["max"] == pytest.approx(3.0, abs=1e-6)
    assert r["frames"] == 3
    assert r["fps"] == pytest.approx(2 / 0.020, rel=1e-6)


def test_timestamps_not_on_the_host_clock_are_left_out():
    m = LatencyMeter()
    m.samples_shown(np.array([0.0, 1.0, np.nan, 1_700_000_000.0]))  # playback-style or missing stamps
    m.frame_painted(1_700_000_000.025, draw_s=0.001)
    assert m.latency_s * 1000 == pytest.approx([25.0], abs=1e-3)
    assert m.report()["latency_samples_without_host_timestamp"] == 3


def test_processing_and_busy_share():
    m = LatencyMeter()
    for _ in range(10):
        m.processed(0.0004)
    r = m.report()
    assert r["processing_ms"]["n"] == 10
    assert r["processing_ms"]["p95"] == pytest.approx(0.4, abs=1e-6)
    assert r["busy_pct_of_one_core"] > 0


def test_empty_report_and_text():
    r = LatencyMeter().report()
    assert r["latency_ms"] == {"p50": None, "p95": None, "max": None, "mean": None, "n": 0}
    text = format_latency_report(r)
    assert "  sample to screen     n/a" in text
    m = LatencyMeter()
    m.samples_shown(np.array([10.0]))
    m.frame_painted(10.0123, draw_s=0.004)
    text = format_latency_report(m.report())
    assert "sample to screen" in text and "p50    12.30" in text and "(n=1)" in text


def test_recent_window_for_the_live_readout():
    m = LatencyMeter()
    m.samples_shown(np.array([1.0, 1.01]))
    m.frame_painted(1.03, draw_s=0.001)  # 30, 20 ms
    p50, p95, idx = m.recent_ms(0)
    assert p50 == pytest.approx(25.0) and p95 == pytest.approx(29.5) and idx == 2
    assert m.recent_ms(idx) == (None, None, 2)
    m.samples_shown(np.array([2.0]))
    m.frame_painted(2.012, draw_s=0.001)
    p50, p95, idx = m.recent_ms(idx)
    assert p50 == pytest.approx(12.0) and idx == 3
