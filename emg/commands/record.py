"""``emg record``: record a board's raw rows to PATH.csv (BrainFlow format) + PATH.json (sidecar)."""

from __future__ import annotations

import argparse


def add_board_options(p: argparse.ArgumentParser, *, playback_option: bool = True) -> None:
    """The options every board-using command shares: --board, --serial-port, --file, --gain."""
    p.add_argument(
        "--board",
        default="synthetic",
        help="board preset: synthetic, playback, cyton, cyton-daisy, ganglion, or lsl:NAME "
        "(see `emg boards`; default synthetic)",
    )
    p.add_argument(
        "--serial-port",
        default=None,
        help="serial port of the dongle, e.g. /dev/ttyUSB0 (cyton, cyton-daisy, ganglion)",
    )
    if playback_option:
        p.add_argument(
            "--file", dest="playback_file", default=None, help="recording to play with --board playback (PATH.csv)"
        )
    p.add_argument("--gain", type=int, default=None, help="Cyton PGA gain: 1, 2, 4, 6, 8, 12 or 24 (default 24)")


def parse_list(text: str | None) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``."""
    return [t.strip() for t in text.split(",")] if text else []


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "record",
        help="record raw board data to PATH.csv + PATH.json",
        description="Record every board row to PATH.csv in BrainFlow's file format (readable by "
        "DataFilter.read_file and BrainFlow's playback board) with a JSON sidecar PATH.json "
        "(board, rate, rows, channel names, muscles, gains, events). Data reach the disk at "
        "least twice a second, so a crash loses under a second. Without --duration it records "
        "until Ctrl-C. Press Enter while recording to mark an event (type a label first to name it).",
    )
    add_board_options(p)
    p.add_argument("--duration", type=float, default=None, help="seconds to record (default: until Ctrl-C)")
    p.add_argument("--out", default=None, help="output PATH.csv (default recordings/<board>-<date-time>.csv)")
    p.add_argument(
        "--muscles",
        default=None,
        help="muscle per channel, comma-separated, e.g. 'vastus medialis L,vastus medialis R'",
    )
    p.add_argument("--channels", default=None, help="channel names, comma-separated (default ch1..chN)")
    p.add_argument("--note", default=None, help="free text kept in the sidecar (patient, electrode placement, ...)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing recording at --out")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    from emg.acquire.lsl import add_lsl_options

    add_lsl_options(p, default_name="emg")
    p.set_defaults(func=run)


def default_out(board: str) -> str:
    import time
    from pathlib import Path

    safe = board.replace(":", "-").replace("/", "-")
    return str(Path("recordings") / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}.csv")


def _start_marker_thread(acq, publisher=None) -> None:
    """Enter on the terminal marks an event (the typed text is its label)."""
    import sys
    import threading

    if not sys.stdin or not sys.stdin.isatty():
        return

    def loop() -> None:
        for line in sys.stdin:
            label = line.strip() or "mark"
            try:
                ev = acq.mark(label)
                if publisher is not None:
                    publisher.push_marker(label, {"sample": ev["sample"]})
                print(f"  marked '{label}' at sample {ev['sample']} ({ev['time_s']:.2f} s)", flush=True)
            except Exception:  # noqa: BLE001 - the session may be over
                return

    threading.Thread(target=loop, name="emg-record-marks", daemon=True).start()


def run(args: argparse.Namespace) -> int:
    import math
    import signal
    import sys
    import time

    from emg.acquire.acquisition import Acquisition
    from emg.errors import ConfigError, EmgError

    if args.duration is not None and (not math.isfinite(args.duration) or args.duration <= 0):
        raise ConfigError(f"--duration {args.duration} must be a positive number of seconds")
    out = args.out or default_out(args.board)
    if not out.lower().endswith(".csv"):
        raise ConfigError(f"--out {out} must end in .csv (the sidecar goes beside it as .json)")

    def on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    acq = Acquisition(
        args.board,
        serial_port=args.serial_port,
        playback_file=getattr(args, "playback_file", None),
        gain=args.gain,
        record_to=out,
        muscles=parse_list(args.muscles),
        channel_names=parse_list(args.channels) or None,
        overwrite=args.overwrite,
        record_meta={"note": args.note} if args.note else None,
    )
    interrupted = False
    t0 = time.monotonic()
    with acq:
        if args.duration is not None:
            # a duration shorter than one sample period records one sample (0 would never end)
            acq.max_samples = max(1, int(round(args.duration * acq.fs_hz)))
        rec = acq.recorder
        print(
            f"recording {acq.preset.name if not acq.preset.needs_file else 'playback'} "
            f"({acq.n_channels} ch at {acq.fs_hz:g} Hz"
            + (f", gain {acq.gain}" if acq.gain else "")
            + f") to {rec.csv_path}"
            + (f" for {args.duration:g} s" if args.duration else " until Ctrl-C"),
            flush=True,
        )
        publisher = None
        if getattr(args, "lsl", None):
            from emg.acquire.lsl import publisher_from_args

            publisher = publisher_from_args(
                args,
                fs_hz=acq.fs_hz,
                channel_names=acq.channel_names,
                muscles=acq.muscles,
                device=acq.source.board_name,
                activation=False,
            )
            print(f"publishing on LSL as {args.lsl}-raw and {args.lsl}-markers", flush=True)
        _start_marker_thread(acq, publisher)
        next_report = 1.0
        try:
            for _chunk in acq.chunks():
                if publisher is not None:
                    publisher.push_raw(_chunk.data_uv, _chunk.timestamps)
                elapsed = time.monotonic() - t0
                if not args.quiet and elapsed >= next_report:
                    print(
                        f"  {elapsed:5.0f} s  {acq.samples_received} samples"
                        + (f"  ({acq.dropped_packets} packets lost)" if acq.dropped_packets else ""),
                        flush=True,
                    )
                    next_report += 1.0
        except KeyboardInterrupt:
            interrupted = True
            acq.stop("interrupted (Ctrl-C)")
        except EmgError:
            acq.stop()
            print(
                f"kept {acq.samples_received} samples ({acq.samples_received / acq.fs_hz:.2f} s) recorded before "
                f"the error in {rec.csv_path} and {rec.json_path}",
                flush=True,
            )
            raise
        finally:
            if publisher is not None:
                publisher.close()
    n = acq.samples_received
    print(
        f"recorded {n} samples ({n / acq.fs_hz:.2f} s) to {rec.csv_path} and {rec.json_path}"
        + (f"; {acq.dropped_packets} packets lost" if acq.dropped_packets else "")
        + (f"; {len(acq.events)} events" if acq.events else "")
        + ("; stopped by Ctrl-C" if interrupted else ""),
        file=sys.stdout,
    )
    return 0
