"""``emg bench [NAME ...]``: run the benchmarks of :mod:`emg.bench` and print their figures (or one JSON object).

NAME: ``signal`` (the default: the Numba signal core and the live chain against scipy and BrainFlow),
``analysis``, ``drills``, ``simulation``, ``export``, or ``all``. ``--analysis`` is kept from before the names
existed: ``emg bench --analysis`` is ``emg bench signal analysis``. Each benchmark measures next to a reference
in the same run, so the ratios hold on a loaded machine; the machine load before and after is printed too.
"""

from __future__ import annotations

import argparse
from typing import Any

#: Benchmark names in the order they run.
BENCHMARKS = ("signal", "analysis", "drills", "simulation", "export")
_QUICK = {"seconds": 20.0, "calls": 2000, "repeats": 1, "no_compile": True, "minutes": 2.0}
_QUICK_DRILL_CALLS = 300
_QUICK_LSL_SECONDS = 1.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="benchmarks: signal core vs scipy/BrainFlow (default), analysis, drills, simulation, export",
        description="Run benchmarks and print their figures next to a reference measured in the same run. "
        "signal (default): the Numba signal core against scipy.signal.sosfilt (same SOS) and BrainFlow's "
        "DataFilter: batch throughput (8/16 channels at 250 Hz and 1 kHz), the live chain's per-call time "
        "(dsp.live.LiveChain.process, 16 channels x 1, 10, 32 samples, median and p99), the largest differences "
        "from scipy and between streaming and batch, Numba compile time (cold and cached) and each envelope's "
        "rise time and smoothness (about a minute). analysis: read + analyse a generated 1-hour 16-channel "
        "250 Hz recording (target <= 10 s). drills: time per update() call of every shipped drill. simulation: "
        "simulated-patient generation speed and live reads. export: BDF+/EDF+/BIDS writing against pyedflib, "
        "and LSL push cost and latency. all: every one.",
    )
    p.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} or all (default: signal)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object instead of tables (the signal core's keys at the top level, the "
        "others under their names, and 'machine')",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a fast smoke run of the chosen benchmarks: 20 s recordings, 2000 calls, 1 repeat, no "
        "compile measurement; 2-minute recordings; 300 drill calls; 1 s of LSL",
    )
    p.add_argument(
        "--analysis",
        action="store_true",
        help="also run the analysis benchmark (`emg bench --analysis` = `emg bench signal analysis`)",
    )
    g = p.add_argument_group("signal core")
    g.add_argument(
        "--seconds", type=float, default=600.0, help="length of the batch test recording in seconds (default 600)"
    )
    g.add_argument("--calls", type=int, default=10_000, help="live-chain calls per chunk size (default 10000)")
    g.add_argument(
        "--repeats", type=int, default=5, help="batch timings per case, interleaved; the fastest counts (default 5)"
    )
    g.add_argument("--no-compile", action="store_true", help="skip the cold/warm Numba compile measurement")
    g = p.add_argument_group("analysis, export, simulation")
    g.add_argument(
        "--minutes",
        type=float,
        default=60.0,
        help="length of the generated recording (analysis, export) or simulation in minutes (default 60)",
    )
    g.add_argument(
        "--channels", type=int, default=16, help="channels of the analysis and export recording (default 16)"
    )
    g.add_argument(
        "--fs", type=float, default=250.0, help="sampling rate of the analysis and export recording in Hz (default 250)"
    )
    g.add_argument(
        "--report",
        action="store_true",
        help="analysis: also time the HTML report (the analysis then keeps the filtered signals)",
    )
    g.add_argument("--no-lsl", action="store_true", help="export: leave out the LSL part")
    p.set_defaults(func=run)


def chosen_benchmarks(args: argparse.Namespace) -> list[str]:
    """The benchmarks to run, in :data:`BENCHMARKS` order."""
    from emg.errors import ConfigError

    names = set(args.names or ["signal"])
    unknown = sorted(names - set(BENCHMARKS) - {"all"})
    if unknown:
        raise ConfigError(f"bench: unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)} or all")
    if "all" in names:
        names = set(BENCHMARKS)
    if args.analysis:
        names.add("analysis")
    return [n for n in BENCHMARKS if n in names]


def _check(args: argparse.Namespace) -> None:
    """ConfigError for values that measure nothing (checked before --quick replaces them)."""
    from emg.errors import ConfigError

    if not args.seconds >= 5 or args.calls < 100 or args.repeats < 1:
        raise ConfigError("bench needs --seconds >= 5, --calls >= 100 and --repeats >= 1; lower values measure nothing")
    if not args.minutes >= 1:
        raise ConfigError("bench needs --minutes >= 1; shorter recordings hold no contraction to analyse")
    if not 1 <= args.channels <= 16 or not args.fs >= 200:
        raise ConfigError("bench needs --channels from 1 to 16 and --fs >= 200 (Hz), as on the supported boards")


def _run_one(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if name == "signal":
        from emg.bench import signal_core

        return signal_core.run_benchmark(
            seconds=args.seconds, calls=args.calls, repeats=args.repeats, numba_compile=not args.no_compile
        )
    if name == "analysis":
        from emg.bench import analysis

        return analysis.run_benchmark(minutes=args.minutes, n_channels=args.channels, fs_hz=args.fs, report=args.report)
    if name == "drills":
        from emg.bench import drills

        return drills.run_benchmark(calls=_QUICK_DRILL_CALLS if args.quick else 3000)
    if name == "simulation":
        from emg.bench import simulation

        return simulation.run_benchmark(seconds=60.0 * args.minutes)
    from emg.bench import export

    return export.run_benchmark(
        minutes=args.minutes,
        n_channels=args.channels,
        fs_hz=args.fs,
        lsl=not args.no_lsl,
        lsl_seconds=_QUICK_LSL_SECONDS if args.quick else 3.0,
    )


def _summary(name: str, res: dict[str, Any]) -> str:
    from emg.bench import analysis, drills, export, signal_core, simulation

    modules = {"signal": signal_core, "analysis": analysis, "drills": drills, "simulation": simulation}
    return modules.get(name, export).summary(res)


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmarks and print their figures; exit code 0."""
    import json
    import logging

    from brainflow.board_shim import BoardShim

    from emg.bench.signal_core import machine_load

    names = chosen_benchmarks(args)
    _check(args)
    if args.quick:
        for key, value in _QUICK.items():
            setattr(args, key, value)
    BoardShim.disable_board_logger()
    logging.getLogger("numba").setLevel(logging.WARNING)
    before = machine_load()
    results = {name: _run_one(name, args) for name in names}
    after = machine_load()
    machine = {
        "cpus": before["cpus"],
        "load1_before": before["load1"],
        "load1_after": after["load1"],
        "load5_after": after["load5"],
    }
    if args.json:
        out: dict[str, Any] = dict(results.pop("signal", {}))  # the signal core's keys stay at the top level
        out.update(results)
        out["machine"] = machine
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"machine: {machine['cpus']} CPUs, load {machine['load1_before']} before / {machine['load1_after']} after "
        "(1-min average)"
    )
    for name, res in results.items():
        print()
        print(_summary(name, res))
    return 0
