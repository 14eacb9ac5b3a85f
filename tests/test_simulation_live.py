"""PatientSource: the simulated patient live, following cues, and through BrainFlow's real Cyton driver."""

from __future__ import annotations

import time

import numpy as np
import pytest

from emg.simulation.scenario import Scenario, Step
from emg.simulation.source import PatientSource


def _short_reps() -> Scenario:
    return Scenario(
        name="short",
        lead_in_s=0.4,
        steps=[Step("contract", 0.8, 50.0), Step("hold", 1.0, 50.0), Step("relax", 0.6), Step("rest", 0.6)],
    )


def test_source_shape_rate_and_autopilot_reps():
    src = PatientSource(seed=1, scenario=_short_reps())
    assert src.fs_hz == 250.0
    exg, acc = src.read(250 * 4)
    assert exg.shape == (8, 1000) and acc.shape == (3, 1000)
    assert exg.dtype == np.float64 and acc.dtype == np.float64
    assert acc[2].mean() == pytest.approx(1.0, abs=0.02)
    k0, act = src.activation_history()
    assert k0 == 0 and act.shape == (8, 1000)
    # contraction at 50 % (undershoot 6 %) after the reaction time: EMG far above rest
    rest_rms = np.std(exg[0, 20:90])
    hold_rms = np.std(exg[0, int(1.8 * 250) : int(2.2 * 250)])
    assert hold_rms > 10 * rest_rms
    assert act[0, int(2.0 * 250)] == pytest.approx(0.47, abs=0.06)
    assert src.autopilot and [c["phase"] for c in src.cue_log[:3]] == ["rest", "contract", "hold"]


def test_source_follows_drill_cues_with_reaction_time_and_ceiling():
    from feedback.state import Cue

    src = PatientSource(seed=2, scenario=_short_reps())
    src.read(50)
    src.set_cue(Cue(phase="rest", target_pct=0.0, channel=0))
    assert not src.autopilot
    src.read(250)
    src.set_cue(Cue(phase="contract", target_pct=100.0, channel=0, text="CONTRACT"))
    src.read(750)
    _, act = src.activation_history()
    cue_k = 300
    rt = src.patient.cues[-1].reaction_s
    onset = cue_k + int(np.argmax(act[0, cue_k:] > 0.016 + 0.01))
    assert (onset - cue_k) / 250.0 == pytest.approx(rt + 0.12, abs=0.12)
    assert act[0, -100:].mean() == pytest.approx(src.ceiling, rel=0.08)  # 60 %: the weak muscle's ceiling
    src.set_cue({"phase": "relax", "channel": 0})
    src.read(750)
    _, act = src.activation_history()
    assert act[0, -50:].mean() < 0.03
    # autopilot stays off: no new autopilot cues after the drill took over
    assert all(not c.get("autopilot") for c in src.cue_log[-3:])


def test_source_chunking_invariant():
    a = PatientSource(seed=9, scenario=_short_reps())
    b = PatientSource(seed=9, scenario=_short_reps())
    big, big_acc = a.read(1200)
    parts = [b.read(n) for n in (1, 9, 10, 33, 147, 500, 500)]
    assert np.allclose(np.concatenate([p[0] for p in parts], axis=1)[:, :1200], big, atol=1e-9)
    assert np.allclose(np.concatenate([p[1] for p in parts], axis=1)[:, :1200], big_acc, atol=1e-12)


@pytest.mark.slow
def test_brainflow_cyton_driver_streams_the_patient_from_the_virtual_cyton():
    from brainflow.board_shim import BoardIds, BoardShim, BrainFlowInputParams

    from emg.acquire.boards import cyton_scale_uv_per_count
    from emg.acquire.virtual_cyton import VirtualCyton

    BoardShim.disable_board_logger()
    src = PatientSource(seed=5, scenario=_short_reps())
    with VirtualCyton(src) as vc:
        params = BrainFlowInputParams()
        params.serial_port = vc.port
        board = BoardShim(BoardIds.CYTON_BOARD, params)
        board.prepare_session()
        try:
            board.start_stream()
            time.sleep(3.2)
            board.stop_stream()
            data = board.get_board_data()
        finally:
            board.release_session()
    exg_rows = BoardShim.get_exg_channels(BoardIds.CYTON_BOARD)
    got = data[exg_rows]
    n = got.shape[1]
    assert n >= 600
    ref, _ = PatientSource(seed=5, scenario=_short_reps()).read(n + 300)
    half_count = cyton_scale_uv_per_count(24) / 2
    offsets = [o for o in range(300) if np.max(np.abs(ref[:, o : o + n] - got)) <= half_count + 1e-6]
    assert offsets, "BrainFlow's samples are not the patient's samples to within half an ADC count"
    o = offsets[0]
    # what BrainFlow delivered contains the contraction: hold RMS far above rest RMS
    seg = ref[0, o : o + n]
    k_hold = int(1.8 * 250) - o
    if 0 <= k_hold < n - 50:
        assert np.std(got[0, k_hold : k_hold + 50]) > 5 * np.std(got[1, :50] if o < 50 else got[2, :50])
    assert np.allclose(got[0], seg, atol=half_count + 1e-6)


def test_patient_corrects_toward_the_target_from_the_displayed_level():
    """The display's 100 % is 0.45 activation (a calibration at the weak patient's own level):
    asked for 35 %, the open-loop patient overshoots; shown the level, it converges and learns."""
    src = PatientSource("post_op_quadriceps", seed=4, scenario=None, autopilot=False)
    display_ref = 0.45

    def run_rep(watch: bool) -> float:
        src.set_cue({"phase": "contract", "target_pct": 35.0, "channel": 0})
        levels = []
        for _ in range(int(6 * 25)):  # 6 s in 40 ms chunks
            src.read(10)
            _, act = src.activation_history()
            level = 100.0 * float(act[0, -10:].mean()) / display_ref
            levels.append(level)
            if watch:
                src.see(level)
        src.set_cue({"phase": "relax", "channel": 0})
        src.read(250 * 3)
        return float(np.mean(levels[-25:]))

    blind = run_rep(False)
    assert blind > 55.0  # open loop: 35 % of the model reference is ~73 % of this display
    first = run_rep(True)
    assert first == pytest.approx(35.0, abs=6.0)
    # learnt: the next rep starts near the target without much correction
    g = src.patient.effort_gain[0]
    assert 0.4 < g < 0.7
    src.set_cue({"phase": "contract", "target_pct": 35.0, "channel": 0})
    src.read(250 * 3)
    _, act = src.activation_history()
    assert 100.0 * act[0, -50:].mean() / display_ref == pytest.approx(35.0, abs=7.0)


def test_no_kernel_compiles_on_the_first_live_read():
    """Compiling in the virtual Cyton's thread would stall the stream (the board watchdog trips):
    construction loads every kernel with the argument types the reads use."""
    from emg.simulation import kernels, patient

    jitted = [patient._drive_kernel, kernels.combine_emg, kernels.add_scaled_noise, kernels.one_pole]
    src = PatientSource(seed=1, mains_hz=60.0)
    before = [len(k.signatures) for k in jitted]
    src.read(10)
    src.set_cue({"phase": "contract", "target_pct": 50.0, "channel": 0})
    src.read(500)
    assert [len(k.signatures) for k in jitted] == before
