"""Benchmark of the simulated patient (``emg bench simulation``).

For the same scenario (contract-hold-relax reps with mains): the wall and CPU time to generate 16 muscles at
1 kHz (issue target: an hour in under 20 s), 8 channels on the Cyton model (4 kHz generation + sinc^3
decimation to 250 Hz), the live PatientSource's cost per 10-sample read, and the time to write a recording
in the project's format. The reference is real time (``x_realtime``: simulated seconds per wall second).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from emg.simulation.params import PatientPreset


def sixteen_muscles() -> PatientPreset:
    """The healthy preset widened to 16 muscles (every odd one an antagonist of muscle 0, crosstalk 5 %)."""
    from emg.simulation.params import MuscleParams, load_preset

    p = load_preset("healthy")
    muscles = [
        MuscleParams(
            name=f"m{i + 1}",
            reference_uv=200.0 + 10 * i,
            median_hz=70.0 + 3 * i,
            crosstalk=0.05,
            follows=0 if i % 2 else None,
            cocontraction=0.1 if i % 2 else 0.0,
        )
        for i in range(16)
    ]
    return replace(p, name="sixteen", muscles=muscles).validate()


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds) of ``fn()``."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run_benchmark(*, seconds: float = 3600.0) -> dict[str, Any]:
    """Generate ``seconds`` of 16 muscles at 1 kHz and min(``seconds``, 600 s) of 8 Cyton channels, write the
    latter, and time 2500 live 10-sample reads; wall and CPU seconds per step."""
    from emg.simulation.generator import simulate
    from emg.simulation.source import PatientSource
    from emg.simulation.writer import write_simulation

    p16 = sixteen_muscles()
    simulate("reps", p16, duration_s=5.0, fs_hz=1000.0, seed=1)  # compile / load the Numba cache
    res, w1, c1 = _timed(lambda: simulate("reps", p16, duration_s=seconds, fs_hz=1000.0, seed=1, enable={"mains"}))
    del res
    cy_s = min(seconds, 600.0)
    res8, w2, c2 = _timed(
        lambda: simulate("reps", "post_op_quadriceps", duration_s=cy_s, fs_hz=250.0, n_channels=8, seed=1)
    )
    with tempfile.TemporaryDirectory() as tmp:
        _, w3, c3 = _timed(lambda: write_simulation(res8, Path(tmp) / "b.csv"))
    src = PatientSource(seed=1)
    src.read(250)
    n_reads = 2500
    _, w4, c4 = _timed(lambda: [src.read(10) for _ in range(n_reads)])
    return {
        "gen_16ch_1khz": {
            "simulated_s": seconds,
            "wall_s": round(w1, 2),
            "cpu_s": round(c1, 2),
            "x_realtime": round(seconds / w1, 1),
        },
        "gen_8ch_cyton_250hz": {
            "simulated_s": cy_s,
            "wall_s": round(w2, 2),
            "cpu_s": round(c2, 2),
            "x_realtime": round(cy_s / w2, 1),
        },
        "write_8ch_cyton_250hz": {"simulated_s": cy_s, "wall_s": round(w3, 2), "cpu_s": round(c3, 2)},
        "live_read_10_samples_us": round(1e6 * w4 / n_reads, 1),
        "live_cpu_share_at_250hz": round(c4 / (n_reads * 10 / 250.0), 4),
    }


def summary(res: dict[str, Any]) -> str:
    """The figures of :func:`run_benchmark` for a person."""
    g16, g8, wr = res["gen_16ch_1khz"], res["gen_8ch_cyton_250hz"], res["write_8ch_cyton_250hz"]
    return "\n".join(
        [
            f"simulation: 16 muscles at 1 kHz, {g16['simulated_s']:g} s simulated: wall {g16['wall_s']:.2f} s, "
            f"CPU {g16['cpu_s']:.2f} s ({g16['x_realtime']:.0f}x real time; target: 3600 s in < 20 s)",
            f"  8 channels, Cyton model (4 kHz + sinc^3 -> 250 Hz), {g8['simulated_s']:g} s: "
            f"wall {g8['wall_s']:.2f} s, CPU {g8['cpu_s']:.2f} s ({g8['x_realtime']:.0f}x real time)",
            f"  writing that recording (BrainFlow rows + sidecar + truth): wall {wr['wall_s']:.2f} s",
            f"  live PatientSource.read(10): {res['live_read_10_samples_us']:.0f} us per call, "
            f"{100 * res['live_cpu_share_at_250hz']:.1f} % of one core at 250 Hz",
        ]
    )
