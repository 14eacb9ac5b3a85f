"""Benchmark of the simulated patient: ``python -m emg.bench.simulation [--seconds S] [--json]``.

Prints, for the same scenario (contract-hold-relax reps with mains), the wall and CPU time to
generate 16 muscles at 1 kHz (issue target: an hour in under 20 s), 8 channels on the Cyton model
(4 kHz generation + sinc^3 decimation to 250 Hz), the live PatientSource's cost per 10-sample read,
and the time to write a recording in the project's format.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def sixteen_muscles():
    """The healthy preset widened to 16 muscles (every odd one an antagonist of muscle 0, crosstalk 5 %)."""
    from emg.simulation.params import MuscleParams, load_preset

    p = load_preset("healthy")
    muscles = [MuscleParams(name=f"m{i + 1}", reference_uv=200.0 + 10 * i, median_hz=70.0 + 3 * i, crosstalk=0.05,
                            follows=0 if i % 2 else None, cocontraction=0.1 if i % 2 else 0.0) for i in range(16)]
    return replace(p, name="sixteen", muscles=muscles).validate()


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3600.0, help="simulated length for the 1 kHz case (default 3600)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    from emg.simulation.generator import simulate
    from emg.simulation.source import PatientSource
    from emg.simulation.writer import write_simulation

    p16 = sixteen_muscles()
    simulate("reps", p16, duration_s=5.0, fs_hz=1000.0, seed=1)  # compile / load the Numba cache
    res, w1, c1 = _timed(lambda: simulate("reps", p16, duration_s=args.seconds, fs_hz=1000.0, seed=1,
                                          enable={"mains"}))
    del res
    cy_s = min(args.seconds, 600.0)
    res8, w2, c2 = _timed(lambda: simulate("reps", "post_op_quadriceps", duration_s=cy_s, fs_hz=250.0, n_channels=8,
                                           seed=1))
    with tempfile.TemporaryDirectory() as tmp:
        _, w3, c3 = _timed(lambda: write_simulation(res8, Path(tmp) / "b.csv"))
    src = PatientSource(seed=1)
    src.read(250)
    n_reads = 2500
    _, w4, c4 = _timed(lambda: [src.read(10) for _ in range(n_reads)])
    out = {
        "gen_16ch_1khz": {"simulated_s": args.seconds, "wall_s": round(w1, 2), "cpu_s": round(c1, 2),
                          "x_realtime": round(args.seconds / w1, 1)},
        "gen_8ch_cyton_250hz": {"simulated_s": cy_s, "wall_s": round(w2, 2), "cpu_s": round(c2, 2),
                                "x_realtime": round(cy_s / w2, 1)},
        "write_8ch_cyton_250hz": {"simulated_s": cy_s, "wall_s": round(w3, 2), "cpu_s": round(c3, 2)},
        "live_read_10_samples_us": round(1e6 * w4 / n_reads, 1),
        "live_cpu_share_at_250hz": round(c4 / (n_reads * 10 / 250.0), 4),
    }
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"16 muscles at 1 kHz, {args.seconds:g} s simulated: wall {w1:.2f} s, CPU {c1:.2f} s "
          f"({args.seconds / w1:.0f}x real time; target: 3600 s in < 20 s)")
    print(f"8 channels, Cyton model (4 kHz + sinc^3 -> 250 Hz), {cy_s:g} s: wall {w2:.2f} s, CPU {c2:.2f} s "
          f"({cy_s / w2:.0f}x real time)")
    print(f"writing that recording (BrainFlow rows + sidecar + truth): wall {w3:.2f} s")
    print(f"live PatientSource.read(10): {1e6 * w4 / n_reads:.0f} us per call, "
          f"{100 * c4 / (n_reads * 10 / 250.0):.1f} % of one core at 250 Hz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
