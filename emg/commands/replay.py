"""``emg replay``: stream a recording through BrainFlow's playback board."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay",
        help="stream a recording through BrainFlow's playback board",
        description="Replay PATH.csv (made by `emg record`) through BrainFlow's playback board at real speed, "
        "at the sampling rate in its sidecar (the playback board itself reports its master board's "
        "rate), printing once a second the RMS of each channel in uV. --fast streams as fast as "
        "possible.",
    )
    p.add_argument("path", help="recording PATH.csv (with PATH.json beside it)")
    p.add_argument("--fast", action="store_true", help="as fast as possible instead of real speed")
    p.add_argument("--loop", action="store_true", help="loop forever (until Ctrl-C)")
    p.add_argument(
        "--allow-truncated",
        action="store_true",
        help="play a recording whose file is shorter than its sidecar says (what is left of it)",
    )
    p.add_argument("--quiet", action="store_true", help="only the summary line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from emg.acquire.acquisition import Acquisition

    acq = Acquisition(
        "playback", playback_file=args.path, fast=args.fast, loop=args.loop, allow_truncated=args.allow_truncated
    )
    t0 = time.monotonic()
    interrupted = False
    with acq:
        total = acq.source.total_samples
        names = acq.channel_names
        meta = acq.source.recording_meta
        if meta.get("interrupted"):
            print("note: this recording did not end cleanly (the recorder was killed); playing what reached the disk")
        if meta.get("truncated"):
            print("note: this recording is truncated; playing what is left of it")
        print(
            f"replaying {args.path}: {total} samples, {acq.n_channels} ch at {acq.fs_hz:g} Hz "
            f"({total / acq.fs_hz:.1f} s){' as fast as possible' if args.fast else ''}",
            flush=True,
        )
        window: list[np.ndarray] = []
        window_n = 0
        try:

            def show(end_sample: int) -> None:
                x = np.concatenate(window, axis=1)
                rms = np.sqrt(np.mean((x - x.mean(axis=1, keepdims=True)) ** 2, axis=1))
                shown = "  ".join(f"{n}={r:.1f}" for n, r in list(zip(names, rms, strict=False))[:8])
                print(f"  {end_sample / acq.fs_hz:6.1f} s  RMS uV: {shown}", flush=True)

            end_sample = 0
            for chunk in acq.chunks():
                window.append(chunk.data_uv)
                window_n += chunk.n_samples
                end_sample = chunk.first_sample + chunk.n_samples
                if not args.quiet and not args.fast and window_n >= acq.fs_hz:
                    show(end_sample)
                    window, window_n = [], 0
            if not args.quiet and not args.fast and window_n >= acq.fs_hz / 2:
                show(end_sample)  # the last part-second, where it is long enough to mean something
        except KeyboardInterrupt:
            interrupted = True
            acq.stop("interrupted (Ctrl-C)")
    wall = time.monotonic() - t0
    n = acq.samples_received
    rate = n / wall if wall > 0 else float("inf")
    print(
        f"replayed {n} samples ({n / acq.fs_hz:.2f} s of signal) in {wall:.2f} s "
        f"({rate:.0f} samples/s, {rate / acq.fs_hz:.1f}x real time)" + ("; stopped by Ctrl-C" if interrupted else "")
    )
    return 0
