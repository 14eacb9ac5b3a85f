"""``emg virtual-cyton``: a virtual OpenBCI Cyton on a pseudo-terminal (prints its port)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "virtual-cyton",
        help="run a virtual Cyton board on a pseudo-terminal",
        description="Start a virtual OpenBCI Cyton that BrainFlow's real Cyton driver talks to: it prints its "
        "serial port; use it with `emg record --board cyton --serial-port PORT` (or train/demo). "
        "It answers the Cyton protocol (v, d, b, s, channel settings) and streams 250 Hz packets "
        "from a signal source until Ctrl-C.",
    )
    p.add_argument(
        "--source",
        choices=("noise", "patient"),
        default="noise",
        help="signal: 'noise' = noise floor + 20-100 Hz bursts on ch1-2 (2 s on / 3 s off); "
        "'patient' = the simulated patient (emg.simulation)",
    )
    p.add_argument(
        "--patient",
        default=None,
        help="patient preset name or TOML path for --source patient (default: the demo's patient; "
        "see `emg simulate --help`)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--burst-uv", type=float, default=120.0, help="burst RMS in uV for --source noise (default 120)")
    p.add_argument("--link", default=None, help="also make a symlink at this path pointing at the port")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(func=run)


def _patient_source(args: argparse.Namespace):
    from emg.simulation.source import PatientSource

    return PatientSource(args.patient, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from emg.acquire.virtual_cyton import NoiseBurstSource, VirtualCyton
    from emg.errors import ConfigError

    if args.duration is not None and not args.duration > 0:
        raise ConfigError(
            f"--duration {args.duration:g} is not a positive number of seconds; give e.g. --duration 60 "
            "(or leave it out to run until Ctrl-C)"
        )
    if args.source == "patient":
        source = _patient_source(args)
    else:
        source = NoiseBurstSource(burst_rms_uv=args.burst_uv, seed=args.seed)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with VirtualCyton(source, link=args.link) as vc:
        print(vc.port, flush=True)
        print(
            f"virtual Cyton ready on {vc.port} (source: {args.source}); "
            f"try: emg record --board cyton --serial-port {vc.port} --duration 10 --out recordings/test.csv; "
            "Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        try:
            done.wait(args.duration)
        except KeyboardInterrupt:
            pass
        print(f"virtual Cyton stopped: {vc.samples_sent} samples sent, {vc.samples_dropped} dropped", file=sys.stderr)
    return 0
