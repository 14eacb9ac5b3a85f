"""``emg boards``: the board presets (and serial ports, LSL streams) this machine can use."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "boards",
        help="list board presets, serial ports and LSL streams",
        description="List the board presets (--board NAME for record/replay/train/demo) with their BrainFlow "
        "board id, sampling rate, EMG channels and gain; the serial ports a dongle could be on; "
        "and, with --lsl, the LSL streams on this machine (--board lsl:NAME).",
    )
    p.add_argument("--json", action="store_true", help="print the presets as JSON")
    p.add_argument("--lsl", action="store_true", help="also list LSL streams visible on this machine (waits 2 s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from emg.acquire.boards import PRESETS
    from emg.acquire.serial_ports import candidate_ports

    if args.json:
        import json
        from dataclasses import asdict

        print(
            json.dumps(
                {name: {k: v for k, v in asdict(p).items() if k != "extra"} for name, p in PRESETS.items()}, indent=2
            )
        )
        return 0
    print(f"{'board':<12} {'id':>3} {'rate':>7} {'EMG ch':>6} {'gain':>5}  {'needs':<15} description")
    for p in PRESETS.values():
        needs = "--serial-port" if p.needs_serial_port else ("PATH.csv" if p.needs_file else "")
        rate = "file" if p.needs_file else f"{p.fs_hz:g} Hz"
        chans = "file" if p.needs_file else str(p.n_channels)
        gain = str(p.default_gain) if p.default_gain else "-"
        print(f"{p.name:<12} {p.board_id:>3} {rate:>7} {chans:>6} {gain:>5}  {needs:<15} {p.description}")
    print("\nCyton boards are set to bipolar EMG (SRB2 off) at --gain (1, 2, 4, 6, 8, 12 or 24; default 24).")
    ports = candidate_ports()
    print(
        "serial ports: "
        + (", ".join(ports) if ports else "none found (plug in the dongle; `emg virtual-cyton` makes a virtual one)")
    )
    if args.lsl:
        from emg.acquire.lsl import list_streams

        streams = list_streams()
        if not streams:
            print("LSL streams: none visible")
        for s in streams:
            print(f"lsl:{s.name:<20} {s.n_channels} ch at {s.fs_hz:g} Hz ({s.type}, from {s.hostname})")
    return 0
