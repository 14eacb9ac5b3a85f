"""Shaping rules (thresholds move by rule, within bounds, logged) and artefact gating
(flagged samples never count toward success and never move a threshold; the patient is told why)."""

from __future__ import annotations

import numpy as np
import pytest
from test_drills_script import build, labels, levels, run

from feedback.shaping import Shaper

FS = 100.0
SHAPED = """
kind = "reach_hold"
name = "shaped"
[target]
channel = 1
band_pct = [20, 40]
hold_s = 0.5
[protocol]
reps = 8
work_s = 1.0
rest_s = 0.2
start_delay_s = 0.2
rest_threshold_pct = 5
[shaping]
enabled = true
step_pct = 5
raise_after = 3
lower_after = 2
min_pct = 10
max_pct = 50
"""


def rep(level: float) -> list[tuple[float, float]]:
    """One rep's worth of script: 0.2 s relaxed rest, then 1.0 s at ``level`` (work), then back to 0."""
    return [(0.2, 0.0), (1.0, level)]


def test_shaper_rule_and_bounds():
    s = Shaper("band", 20.0, step_pct=5, raise_after=3, lower_after=2, min_pct=10, max_pct=50, width_pct=20)
    assert [s.record("success") for _ in range(2)] == [None, None]
    assert s.record("success") == {"name": "band", "old_pct": 20.0, "new_pct": 25.0, "reason": "3 successes in a row"}
    assert s.record("void") is None  # void reps neither count nor reset
    assert s.record("failure") is None
    assert s.record("success") is None and s.successes_in_row == 1  # a failure reset the run
    for _ in range(2):
        s.record("success")
    assert s.value_pct == 30.0  # 3 in a row again
    for _ in range(6):
        s.record("success")
    assert s.value_pct == 30.0  # capped: high edge may not pass max_pct (30 + 20 = 50)
    for _ in range(2):
        s.record("failure")
    assert s.value_pct == 25.0
    for _ in range(10):
        s.record("failure")
    assert s.value_pct == 10.0 and len(s.history) == 6
    ceiling = Shaper(
        "max", 10.0, step_pct=2, raise_after=2, lower_after=1, min_pct=6, max_pct=12, harder_is_higher=False
    )
    ceiling.record("success")
    assert ceiling.record("success")["new_pct"] == 8.0  # harder = lower ceiling
    assert ceiling.record("failure")["new_pct"] == 10.0


def test_band_moves_after_three_successes_and_back_after_two_failures():
    drill = build(SHAPED, fs_hz=FS)
    # reps 1-3 succeed at 30 % (band 20-40) -> band 25-45; rep 4 fails at 22 %, rep 5 fails -> band 20-40;
    # rep 6 at 22 % succeeds in the lowered band.
    script = rep(30) + rep(30) + rep(30) + rep(22) + rep(22) + rep(22) + [(0.5, 0)]
    events = run(drill, levels(FS, *script))
    changes = [e.data for e in events if e.label == "threshold_change"]
    assert changes == [
        {"name": "band_pct", "old_pct": 20.0, "new_pct": 25.0, "reason": "3 successes in a row"},
        {"name": "band_pct", "old_pct": 25.0, "new_pct": 20.0, "reason": "2 failures in a row"},
    ]
    results = [r["result"] for r in drill.summary()["reps"]]
    assert results == ["success", "success", "success", "failure", "failure", "success"]
    bands = [r["band_pct"] for r in drill.summary()["reps"]]
    assert bands == [[20, 40]] * 3 + [[25, 45]] * 2 + [[20, 40]]
    assert drill.summary()["threshold_changes"] == changes
    assert drill.state.bands_pct == {0: (20.0, 40.0)}


def test_downtrain_ceiling_shaping_goes_down_after_successes():
    drill = build(
        """
kind = "downtrain"
name = "d"
[target]
channel = 1
max_pct = 10
hold_s = 0.5
[protocol]
reps = 3
work_s = 1
rest_s = 0.5
start_delay_s = 0.5
[shaping]
enabled = true
step_pct = 2
raise_after = 2
min_pct = 4
max_pct = 20
""",
        fs_hz=FS,
    )
    events = run(
        drill, levels(FS, (0.5, 0), (0.5, 7), (0.5, 0), (0.5, 7), (0.5, 0), (1.0, 9), (0.5, 0))
    )  # 9 % passes 10 but not 8
    assert [e.data["new_pct"] for e in events if e.label == "threshold_change"] == [8.0]
    assert [r["result"] for r in drill.summary()["reps"]] == ["success", "success", "failure"]
    assert [r["max_pct"] for r in drill.summary()["reps"]] == [10.0, 10.0, 8.0]


def _flags(n: int, spans: list[tuple[int, int, int]], n_channels: int = 1, channel: int = 0) -> np.ndarray:
    f = np.zeros((n_channels, n), np.uint8)
    for a, b, bit in spans:
        f[channel, a:b] |= bit
    return f


GATED = (
    SHAPED.replace("reps = 8", "reps = 1")
    .replace("hold_s = 0.5", "hold_s = 1.0")
    .replace("work_s = 1.0", "work_s = 3.0")
)


def test_flagged_samples_pause_the_hold_and_never_count():
    drill = build(GATED, fs_hz=FS)
    act = levels(FS, (0.2, 0), (2.0, 30), (1.0, 0))
    # lead-off from 0.6 to 0.9 s (samples 60-89) during the hold: the hold pauses 0.3 s
    ev = run(drill, act, flags=_flags(act.shape[1], [(60, 90, 16)]))
    assert labels(ev, "artefact", "artefact_end", "success") == [
        ("artefact", 0.6),
        ("artefact_end", 0.9),
        ("success", 1.5),
    ]
    art = [e for e in ev if e.label == "artefact"][0].data
    assert art["flags"] == ["lead_off"] and art["channels"] == ["ch1"]
    assert art["message"] == "Not counting: electrode off on ch1: press it back onto the skin"
    r = drill.summary()["reps"][0]
    assert r["time_in_band_s"] == pytest.approx(1.0) and r["gated_s"] == pytest.approx(0.3)
    assert drill.summary()["artefact_s"] == pytest.approx(0.3)


def test_gating_message_is_shown_while_flagged():
    drill = build(GATED, fs_hz=FS)
    act = levels(FS, (0.2, 0), (0.5, 30))
    run(drill, act, flags=_flags(act.shape[1], [(50, 70, 8 | 1)]))
    assert drill.state.gating_message == (
        "Not counting: signal saturated on ch1: check the electrode and its lead; "
        "movement artefact on ch1: keep the leads still"
    )
    assert drill.state.to_view_frame().message == drill.state.gating_message
    run(drill, levels(FS, (1.0, 30)), t0_s=0.7)
    assert drill.state.gating_message  # still readable 1.0 s after the spell ...
    run(drill, levels(FS, (0.6, 30)), t0_s=1.7)
    assert drill.state.gating_message == ""  # ... gone 1.5 s after it


def test_a_single_dropped_packet_is_reported_to_the_patient():
    drill = build(GATED, fs_hz=FS)
    act = levels(FS, (0.2, 0), (0.5, 30))
    flags = _flags(act.shape[1], [(40, 41, 32)])  # the session flags a chunk's first sample on packet loss
    ev = run(drill, act, flags=flags, chunk=10)
    assert labels(ev, "artefact", "artefact_end") == [("artefact", 0.4), ("artefact_end", 0.41)]
    assert drill.state.gating_message == ("Not counting: data lost between board and computer: move the dongle closer")


def test_railed_channel_cannot_fake_a_success_and_rep_is_void_without_moving_threshold():
    drill = build(SHAPED.replace("reps = 8", "reps = 4"), fs_hz=FS)
    # 3 clean successes would raise the band; here rep 3 is railed throughout (the level reads 30 %
    # because of the artefact): it must be void, and the band must not move.
    script = rep(30) + rep(30) + rep(30) + rep(30) + [(0.5, 0)]
    act = levels(FS, *script)
    start3 = int(round((0.2 + 1.0) * 2 * FS)) + 20  # rep 3's work period
    ev = run(drill, act, flags=_flags(act.shape[1], [(start3, start3 + 100, 1)]))
    results = [r["result"] for r in drill.summary()["reps"]]
    assert results == ["success", "success", "void", "success"]
    assert labels(ev, "rep_void")
    assert [e.data["new_pct"] for e in ev if e.label == "threshold_change"] == [25.0]  # after rep 4 (3rd success)
    s = drill.summary()
    assert (s["reps_attempted"], s["reps_succeeded"], s["reps_void"]) == (4, 3, 1)
    assert s["success_rate"] == 1.0


def test_nan_activation_is_gated_even_without_flags():
    drill = build(GATED, fs_hz=FS)
    act = levels(FS, (0.2, 0), (2.0, 30), (1.0, 0))
    act[0, 40:60] = np.nan
    ev = run(drill, act)
    assert labels(ev, "artefact", "success") == [("artefact", 0.4), ("success", 1.4)]
    assert [e for e in ev if e.label == "artefact"][0].data["flags"] == ["nan"]


def test_flags_on_unused_channels_and_unselected_bits_do_not_gate():
    text = GATED + '[gating]\nflags = ["lead_off"]\n'
    drill = build(text, fs_hz=FS, n_channels=2)
    act = levels(FS, (0.2, 0), (2.0, 30), (1.0, 0), n_channels=2)
    flags = _flags(act.shape[1], [(0, act.shape[1], 16)], n_channels=2, channel=1)  # other channel
    flags |= _flags(act.shape[1], [(40, 60, 8)], n_channels=2, channel=0)  # spike: not selected
    ev = run(drill, act, flags=flags)
    assert labels(ev, "artefact", "success") == [("success", 1.2)]
