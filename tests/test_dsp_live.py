"""LiveChain, the one live chain: filters, envelope, % of reference and quality flags in one kernel call,
bit-identical to EmgPipeline (envelope, process_pct) and to the quality-flag rules for any chunking."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsp.calibration import Calibration
from dsp.errors import SignalError
from dsp.live import LiveChain, LiveStep
from dsp.pipeline import EmgPipeline
from dsp.quality import QualityFlag, QualityMonitor
from dsp.synth import contractions

RAIL = 187_500.0  # a Cyton at gain 24
DROPPED = int(QualityFlag.DROPPED)


def reference_flags(x: np.ndarray, fs_hz: float, rail_uv: float | None) -> np.ndarray:
    """The per-sample quality rules in plain Python (the streaming monitor as it was before the live chain
    ran it in its own kernel), over the whole signal (C, n): the specification the kernels must meet."""
    rail = math.inf if rail_uv is None else rail_uv * 0.99
    flat_step, flat_n = 1e-3, max(2, round(0.25 * fs_hz))
    spike_uv, spike_hold, lead_n = 2000.0, max(1, round(0.1 * fs_hz)), max(1, round(1.0 * fs_hz))
    out = np.zeros(x.shape, dtype=np.uint8)
    for c in range(x.shape[0]):
        prev, fr, br, sl = math.nan, 0, 0, 0
        for t in range(x.shape[1]):
            v = float(x[c, t])
            f = 0
            if not math.isfinite(v):
                f |= 4
                br += 1
            else:
                railed = abs(v) >= rail
                if railed:
                    f |= 1
                if math.isfinite(prev):
                    d = abs(v - prev)
                    fr = fr + 1 if d <= flat_step else 0
                    if d > spike_uv and not railed:
                        sl = spike_hold
                if fr >= flat_n:
                    f |= 2
                br = br + 1 if railed or fr >= flat_n else 0
                prev = v
            if sl > 0:
                f |= 8
                sl -= 1
            if br >= lead_n:
                f |= 16
            out[c, t] = f
    return out


def faulty_signal(fs_hz: float, seconds: float, seed: int) -> np.ndarray:
    """Six channels (6, seconds * fs) of contractions with every fault the flags know (in the first 3.2 s):
    NaN/inf/absurd samples, railing on both rails, flat stretches (constant and sub-threshold steps), spikes
    (also railed ones), a late start."""
    x = contractions(fs_hz, max(seconds, 3.2), n_channels=6, snr=4.0, dc_uv=300.0, seed=seed).x_uv.copy()
    n = x.shape[1]
    rng = np.random.default_rng(seed)
    k = lambda s: int(s * fs_hz)  # noqa: E731
    x[0, k(0.5) : k(0.53)] = np.nan
    x[0, k(1.2)] = np.inf
    x[0, k(1.7)] = -np.inf
    x[0, k(2.2)] = 2e9  # absurd: held by the filters, not NaN for the flags
    x[1, k(0.4) : k(1.9)] = RAIL  # railed for 1.5 s: lead-off after 1 s
    x[1, k(2.5) : k(2.6)] = -RAIL * 1.01
    x[2, k(0.8) : k(1.3)] = 42.0  # flat
    x[2, k(2.0) : k(3.0)] = 10.0 + 1e-4 * np.arange(k(3.0) - k(2.0))  # steps below flat_step: flat too
    x[3, rng.integers(0, n, 12)] += 9000.0  # spikes
    x[3, k(1.0) : k(1.05)] = RAIL  # a jump onto the rail is railed, not a spike
    x[4, : k(0.3)] = np.nan  # starts late
    x[4, k(0.31)] = np.nan
    x[5, k(1.5) :] = 0.0  # powered down
    return np.ascontiguousarray(x[:, : int(round(seconds * fs_hz))])


def chunkings(n: int, seed: int) -> list[list[int]]:
    """Chunk sizes covering ``n`` samples: 1, 10, 64, and random sizes 1..64 (some 0-length chunks)."""
    rng = np.random.default_rng(seed)
    out = []
    for fixed in (1, 10, 64):
        out.append([fixed] * (n // fixed) + ([n % fixed] if n % fixed else []))
    for _ in range(3):
        sizes, total = [], 0
        while total < n:
            m = int(min(n - total, rng.integers(0, 65)))
            sizes.append(m)
            total += m
        out.append(sizes)
    return out


def run_live(chain: LiveChain, x: np.ndarray, sizes: list[int]) -> tuple[list[LiveStep], np.ndarray, np.ndarray]:
    steps, i = [], 0
    for m in sizes:
        steps.append(chain.process(x[:, i : i + m]))
        i += m
    values = [s.activation_pct if s.activation_pct is not None else s.envelope_uv for s in steps]
    return steps, np.concatenate(values, axis=1), np.concatenate([s.flags for s in steps], axis=1)


def calibration_for(n_channels: int, fs_hz: float, envelope: str) -> Calibration:
    return Calibration(
        rest_floor_uv=np.linspace(2.0, 4.0, n_channels),
        rest_sd_uv=np.ones(n_channels),
        reference_uv=np.linspace(30.0, 60.0, n_channels),
        channel_names=[f"ch{i + 1}" for i in range(n_channels)],
        fs_hz=fs_hz,
        envelope=envelope,
    )


@pytest.mark.parametrize(
    "fs_hz, envelope", [(1000.0, "adaptive"), (250.0, "adaptive"), (1000.0, "linear"), (250.0, "rms"), (1000.0, "tkeo")]
)
def test_live_chain_is_pipeline_and_quality_rules_for_any_chunking(fs_hz, envelope):
    x = faulty_signal(fs_hz, 3.2, seed=int(fs_hz) + len(envelope))
    n = x.shape[1]
    want_flags = reference_flags(x, fs_hz, RAIL)
    for bit in QualityFlag:
        if bit not in (QualityFlag.OK, QualityFlag.DROPPED):
            assert np.any(want_flags & bit), f"the test signal never raises {bit.name}"
    env_ref = EmgPipeline(fs_hz, 6, envelope=envelope).process(x)
    cal = calibration_for(6, fs_hz, envelope)
    # % of reference as numpy computes it from the envelope (the kernels' arithmetic: no fused multiply-add)
    floor = cal.rest_floor_uv[:, None]
    pct_ref = (env_ref - floor) * (100.0 / (cal.reference_uv[:, None] - floor))
    pipe = EmgPipeline(fs_hz, 6, envelope=envelope)
    pipe.set_calibration(cal)
    assert np.array_equal(pipe.process_pct(x), pct_ref)
    assert np.all(np.isfinite(env_ref))
    for k, sizes in enumerate(chunkings(n, seed=k_seed(fs_hz, envelope))):
        chain = LiveChain(fs_hz, 6, envelope=envelope, rail_uv=RAIL)
        steps, env, flags = run_live(chain, x, sizes)
        assert all(s.activation_pct is None and s.flags.dtype == np.uint8 for s in steps)
        assert np.array_equal(env, env_ref), f"envelope differs in chunking {k}"
        assert np.array_equal(flags, want_flags), f"flags differ in chunking {k}"
        chain = LiveChain(fs_hz, 6, envelope=envelope, rail_uv=RAIL)
        chain.set_calibration(cal)
        steps, pct, flags = run_live(chain, x, sizes)
        assert all(s.envelope_uv is None for s in steps)
        assert np.array_equal(pct, pct_ref), f"% of reference differs in chunking {k}"
        assert np.array_equal(flags, want_flags)


def k_seed(fs_hz: float, envelope: str) -> int:
    return int(fs_hz) * 7 + len(envelope)


def test_sixteen_channels_and_no_rail():
    """The bench shape (16 channels, 1 kHz), with one channel off (the per-channel path) and without a rail."""
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 40.0, (16, 3000))
    x[7, 1000:2200] = 250_000.0
    x[11, 500] = np.nan
    for rail in (RAIL, None):
        _, env, flags = run_live(LiveChain(1000.0, 16, rail_uv=rail), x, chunkings(3000, 5)[3])
        assert np.array_equal(env, EmgPipeline(1000.0, 16).process(x))
        assert np.array_equal(flags, reference_flags(x, 1000.0, rail))
        assert bool(np.any(flags & QualityFlag.RAILED)) is (rail is not None)


def test_channels_with_far_apart_or_equal_levels_keep_the_fast_flag_path_exact():
    """The flag kernel checks a whole chunk as one flat array; the steps across its row ends (one channel's
    last sample to the next one's first) are not real steps: channels at DC offsets far apart (a spike-sized
    step) or touching (a flat-sized step) must give the same flags as the per-sample rules."""
    rng = np.random.default_rng(8)
    x = rng.normal(0.0, 30.0, (4, 400))
    x[1] += 50_000.0  # DC offsets far apart
    x[2:] -= 20_000.0
    for i in range(0, 400, 8):  # each chunk: channel 3 starts where channel 2 ends
        x[3, i] = x[2, i + 7]
    x[3, 200] = x[3, 199] + 5e-4  # and one real sub-threshold step
    for sizes in ([8] * 50, chunkings(400, 9)[4]):
        _, _, flags = run_live(LiveChain(1000.0, 4, rail_uv=RAIL), x, sizes)
        assert np.array_equal(flags, reference_flags(x, 1000.0, RAIL))


def test_calibration_set_and_cleared_mid_stream():
    fs = 250.0
    x = faulty_signal(fs, 4.0, seed=11)
    cal = calibration_for(6, fs, "adaptive")
    chain, pipe = LiveChain(fs, 6, rail_uv=RAIL), EmgPipeline(fs, 6)
    got, want = [], []
    for i in range(0, x.shape[1], 25):
        if i == 250:
            chain.set_calibration(cal)
            pipe.set_calibration(cal)
        if i == 750:
            chain.set_calibration(None)
            pipe.set_calibration(None)
        step = chain.process(x[:, i : i + 25])
        calibrated = 250 <= i < 750
        assert (step.activation_pct is not None) is calibrated and (step.envelope_uv is None) is calibrated
        assert chain.calibration is (cal if calibrated else None)
        got.append(step.activation_pct if calibrated else step.envelope_uv)
        want.append(pipe.process_pct(x[:, i : i + 25]) if calibrated else pipe.process(x[:, i : i + 25]))
    assert np.array_equal(np.concatenate(got, axis=1), np.concatenate(want, axis=1))


def test_gaps_at_marks_dropped_on_those_samples_only():
    fs = 1000.0
    x = faulty_signal(fs, 1.0, seed=2)
    plain = LiveChain(fs, 6, rail_uv=RAIL)
    gapped = LiveChain(fs, 6, rail_uv=RAIL)
    patterns = [(), (0,), (3, 19), (-1, 20, 25), np.array([5]), [7, 7], ()]
    for k, i in enumerate(range(0, 1000, 20)):
        gaps = patterns[k % len(patterns)]
        a = plain.process(x[:, i : i + 20])
        b = gapped.process(x[:, i : i + 20], gaps_at=gaps)
        assert np.array_equal(a.envelope_uv, b.envelope_uv)
        want = a.flags.copy()
        for g in gaps:
            if 0 <= g < 20:
                want[:, g] |= DROPPED
        assert np.array_equal(b.flags, want)
        assert np.array_equal(b.flags & ~np.uint8(DROPPED), a.flags & ~np.uint8(DROPPED))


def test_wrong_channel_count_is_one_line_and_changes_nothing():
    x = np.random.default_rng(4).normal(0.0, 20.0, (4, 200))
    chain, clean = LiveChain(1000.0, 4), LiveChain(1000.0, 4)
    chain.process(x[:, :50])
    clean.process(x[:, :50])
    for bad in (np.zeros((3, 10)), np.zeros((5, 10)), np.zeros((10, 4)), [[1.0, 2.0]] * 3):
        with pytest.raises(SignalError, match="channels") as err:
            chain.process(bad)
        assert "\n" not in str(err.value)
    assert "transposed" in str(pytest.raises(SignalError, chain.process, np.zeros((10, 4))).value)
    a, b = chain.process(x[:, 50:]), clean.process(x[:, 50:])
    assert np.array_equal(a.envelope_uv, b.envelope_uv) and np.array_equal(a.flags, b.flags)
    with pytest.raises(SignalError, match="channels"):
        chain.set_calibration(calibration_for(3, 1000.0, "adaptive"))


def test_any_array_like_input_gives_the_same_numbers():
    x = faulty_signal(250.0, 1.0, seed=9)[:, :240]
    ref = LiveChain(250.0, 6, rail_uv=RAIL)
    want = [ref.process(np.ascontiguousarray(x[:, i : i + 40])) for i in range(0, 240, 40)]
    variants = {
        "list": lambda c: c.tolist(),
        "fortran": np.asfortranarray,
        "strided view": lambda c: c,  # x[:, i:i+40] is not C-contiguous
        "read-only": lambda c: _readonly(np.ascontiguousarray(c)),
    }
    for name, make in variants.items():
        chain = LiveChain(250.0, 6, rail_uv=RAIL)
        for k, i in enumerate(range(0, 240, 40)):
            got = chain.process(make(x[:, i : i + 40]))
            assert np.array_equal(got.envelope_uv, want[k].envelope_uv), name
            assert np.array_equal(got.flags, want[k].flags), name
    one, ref1 = LiveChain(250.0, 1), LiveChain(250.0, 1)
    assert np.array_equal(one.process(x[0, :40].copy()).envelope_uv, ref1.process(x[:1, :40].copy()).envelope_uv)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def test_float32_input_equals_float64_of_the_same_values():
    x = faulty_signal(250.0, 1.0, seed=12)[:, :200].astype(np.float32)
    a, b = LiveChain(250.0, 6, rail_uv=RAIL), LiveChain(250.0, 6, rail_uv=RAIL)
    for i in range(0, 200, 25):
        s, t = a.process(x[:, i : i + 25]), b.process(x[:, i : i + 25].astype(np.float64))
        assert np.array_equal(s.envelope_uv, t.envelope_uv) and np.array_equal(s.flags, t.flags)


def test_steps_are_new_arrays_each_call_and_empty_chunks_change_nothing():
    x = np.random.default_rng(6).normal(0.0, 20.0, (3, 100))
    chain, ref = LiveChain(1000.0, 3, rail_uv=RAIL), LiveChain(1000.0, 3, rail_uv=RAIL)
    kept = [chain.process(x[:, i : i + 10].copy()) for i in range(0, 50, 10)]
    empty = chain.process(np.empty((3, 0)))
    assert empty.envelope_uv.shape == empty.flags.shape == (3, 0)
    kept.append(chain.process(x[:, 50:].copy()))
    for a in range(len(kept)):
        for b in range(a + 1, len(kept)):
            assert not np.shares_memory(kept[a].envelope_uv, kept[b].envelope_uv)
            assert not np.shares_memory(kept[a].flags, kept[b].flags)
    env = np.concatenate([s.envelope_uv for s in kept], axis=1)
    assert np.array_equal(env, ref.process(x).envelope_uv)
    assert chain.fs_hz == 1000.0 and chain.n_channels == 3 and chain.envelope == "adaptive"
    assert chain.design.describe() == EmgPipeline(1000.0, 3).design.describe() and chain.rail_uv == RAIL


def test_reset_starts_over():
    x = faulty_signal(1000.0, 1.0, seed=13)
    chain = LiveChain(1000.0, 6, rail_uv=RAIL)
    first = chain.process(x)
    chain.reset()
    again = chain.process(x)
    assert np.array_equal(first.envelope_uv, again.envelope_uv) and np.array_equal(first.flags, again.flags)


def test_quality_monitor_follows_the_rules_for_any_chunking():
    fs = 250.0
    x = faulty_signal(fs, 3.0, seed=21)
    want = reference_flags(x, fs, RAIL)
    for sizes in chunkings(x.shape[1], seed=22):
        mon, i, got = QualityMonitor(fs, 6, rail_uv=RAIL), 0, []
        for m in sizes:
            got.append(mon.update(x[:, i : i + m]))
            i += m
        assert np.array_equal(np.concatenate(got, axis=1), want)
    mon = QualityMonitor(fs, 6)
    assert np.array_equal(mon.update(x.tolist()), reference_flags(x, fs, None))
