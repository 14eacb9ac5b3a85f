"""``emg train``: a biofeedback session on a real (or synthetic / played-back) board."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsp.calibration import Calibration
    from emg.live.session import Session
    from feedback.drill_base import Drill


def register(subparsers: argparse._SubParsersAction) -> None:
    from emg.commands.record import add_board_options

    p = subparsers.add_parser(
        "train",
        help="run a drill with live biofeedback on a board (recorded)",
        description="Run a drill (a TOML file; see `emg drills`) with the live view on a board. Without "
        "--calibration the session starts with a calibration (rest, then reference contractions, "
        "best of N) and saves it beside the recording. Everything is recorded as it runs: raw board "
        "rows in PATH.csv, drill events (cues, reps, successes, threshold changes, artefacts) in the "
        "PATH.json sidecar; at the end PATH.summary.json (reps, per-rep metrics, latency) and, "
        "PATH.png (final frame). The window opens full screen (--window: 1280x720). Keys: space pause, "
        "m mark, Esc stop, R reconnect a lost board (a new part PATH.part2.csv continues the session) or "
        "calibrate again after a refusal, Up/Down move the target 5 %%, F11 full screen on/off, T therapist "
        "strip, digits + Enter give an estimate (awareness drills); the end summary stays up until Esc or the "
        "window is closed. --muscles names the muscles on the first channels (or on --channels-used). "
        "The synthetic board streams fixed sine waves, so it needs --calibration FILE: there is nothing "
        "to calibrate on. EMG_SESSION_MAX_S=S in the environment caps every session at S seconds.",
        epilog="example:  emg train --board cyton --serial-port /dev/ttyUSB0 --drill reach_hold_quadriceps "
        "--patient P01 --muscles 'vastus medialis L,biceps femoris L'",
    )
    add_board_options(p)
    p.add_argument("--drill", required=True, help="drill TOML file, or the name of a shipped drill (see `emg drills`)")
    p.add_argument(
        "--calibration",
        default=None,
        metavar="FILE",
        help="calibration JSON from an earlier session (default: calibrate at the start)",
    )
    p.add_argument(
        "--patient",
        default=None,
        metavar="ID",
        help="patient ID: labels the recording; the calibration is saved per patient and muscles under "
        "--calibration-dir and reused in the next session with the same board and montage",
    )
    p.add_argument(
        "--calibration-dir",
        default=str(Path("recordings") / "calibrations"),
        metavar="DIR",
        help="where --patient calibrations live (default recordings/calibrations)",
    )
    p.add_argument("--headless", action="store_true", help="render offscreen, no window (automatic without a display)")
    p.add_argument("--window", action="store_true", help="a 1280x720 window instead of full screen")
    p.add_argument(
        "--out", default=None, metavar="PATH.csv", help="recording path (default recordings/train-<date-time>.csv)"
    )
    p.add_argument("--duration", type=float, default=None, metavar="S", help="end after S seconds of data")
    p.add_argument(
        "--latency-report",
        action="store_true",
        help="print sample-to-screen latency (p50/p95/max), processing and drawing times at the end",
    )
    p.add_argument(
        "--muscles",
        default=None,
        help="muscle per channel used, comma-separated: N muscles use the board's first N channels "
        "(or the --channels-used ones)",
    )
    p.add_argument(
        "--channels-used",
        default=None,
        metavar="LIST",
        help="board channels to use, 1-based, comma-separated (default: one per --muscles name, else all); "
        "the drill's channel numbers count within these",
    )
    p.add_argument(
        "--mains", type=float, default=50.0, help="mains frequency to notch, 50 or 60; 0 for none (default 50)"
    )
    p.add_argument(
        "--envelope",
        default="adaptive",
        choices=("adaptive", "linear", "rms", "tkeo"),
        help="envelope method (default adaptive: low lag)",
    )
    p.add_argument("--fps", type=float, default=60.0, help="frames a second (default 60)")
    p.add_argument("--tone", action="store_true", help="pitch follows activation, where an audio output exists")
    p.add_argument("--rest-s", type=float, default=5.0, help="calibration: seconds of rest baseline (default 5)")
    p.add_argument(
        "--contractions", type=int, default=3, help="calibration: reference contractions, best of N (default 3)"
    )
    p.add_argument("--contraction-s", type=float, default=3.0, help="calibration: seconds per contraction (default 3)")
    p.add_argument(
        "--submax",
        type=float,
        default=None,
        metavar="PCT",
        help="calibrate on a sub-maximal reference contraction of PCT %% of maximum instead of an MVC",
    )
    from emg.acquire.lsl import add_lsl_options

    add_lsl_options(p)
    p.set_defaults(func=run)


def _parse_channels(text: str | None) -> list[int] | None:
    from emg.errors import ConfigError

    if not text:
        return None
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            ch = int(part)
        except ValueError:
            raise ConfigError(
                f"--channels-used: {part!r} is not a channel number; give e.g. --channels-used 1,2"
            ) from None
        if ch < 1:
            raise ConfigError(f"--channels-used: channel {ch} does not exist; channels count from 1")
        out.append(ch - 1)
    if len(set(out)) != len(out):
        raise ConfigError("--channels-used lists a channel twice; give each channel once")
    return out


#: boards whose signals do not come from a muscle: nothing to calibrate on
NO_CALIBRATION_BOARDS = ("synthetic",)


def _nothing_to_calibrate(board: str) -> str:
    return (
        f"board {board} streams fixed sine waves, so there is no rest or contraction to calibrate on; give "
        "--calibration FILE (made on this board), or try the whole loop with a simulated patient: `emg demo`, "
        "or `emg virtual-cyton --source patient` and train on its port with --board cyton --serial-port PORT"
    )


def montage_channels(muscles: list[str], channels: list[int] | None) -> tuple[list[int] | None, list[str]]:
    """The board channels used (0-based; None: all) and the muscle per board channel ('' where none is named).

    N muscles use the first N channels unless ``channels`` says which; a count mismatch is one line."""
    from emg.errors import ConfigError

    if not muscles:
        return channels, []
    if channels is None:
        channels = list(range(len(muscles)))
    elif len(channels) != len(muscles):
        raise ConfigError(
            f"--muscles names {len(muscles)} muscles but --channels-used lists {len(channels)} channels; "
            "give one muscle per channel used"
        )
    per_board = [""] * (max(channels) + 1)
    for c, m in zip(channels, muscles, strict=True):
        per_board[c] = m
    return channels, per_board


def _patient_calibration(patient: str, root: Path, board: str) -> Callable[[Session], Calibration | None]:
    """A session hook: reuse the patient's saved calibration for these muscles, or calibrate and save it there.

    The session checks that a reused calibration fits its board, rate, envelope and montage (one line if not)."""

    def hook(session: Session) -> Calibration | None:
        from feedback.calibration_store import calibration_path, find_calibration, read_calibration

        muscle = "+".join(session.channel_names)
        found = find_calibration(root, patient, muscle)
        if found is not None:
            cal = read_calibration(found)
            session.calibration_source = str(found)
            print(f"reusing {patient}'s calibration {found}", flush=True)
            return cal
        if board in NO_CALIBRATION_BOARDS:
            from emg.errors import ConfigError

            raise ConfigError(_nothing_to_calibrate(board))
        session.calibration_out = calibration_path(root, patient, muscle)
        session.calibration_meta = {"patient": patient, "muscle": muscle}
        print(f"no saved calibration for {patient} ({muscle}): calibrating first", flush=True)
        return None

    return hook


def run(args: argparse.Namespace) -> int:
    import math
    import time

    from emg.acquire.acquisition import Acquisition
    from emg.commands.record import parse_list
    from emg.errors import ConfigError
    from emg.live.display import headless_needed
    from emg.live.latency import format_latency_report
    from emg.live.reporting import refusal_lines
    from emg.live.session import Session, capped_duration_s
    from feedback.calibration_store import read_calibration
    from feedback.drills import find_drill, load_drill, make_drill
    from feedback.errors import FeedbackError

    if args.duration is not None and (not math.isfinite(args.duration) or args.duration <= 0):
        raise ConfigError(f"--duration {args.duration} is not a positive number of seconds; give e.g. --duration 60")
    if args.mains not in (0, 50, 60):
        raise ConfigError(f"--mains {args.mains:g} is not 50, 60 or 0; give your mains frequency")
    try:
        config = load_drill(find_drill(args.drill))
    except FeedbackError as err:
        raise ConfigError(str(err)) from None
    calibration: Calibration | Callable[[Session], Calibration | None] | None = None
    if args.calibration:
        calibration = read_calibration(args.calibration)
    elif args.patient:
        calibration = _patient_calibration(args.patient, Path(args.calibration_dir), args.board)
    out = Path(args.out) if args.out else Path("recordings") / f"train-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    if out.suffix.lower() != ".csv":
        raise ConfigError(f"--out {out} must end in .csv (the sidecar goes beside it as .json)")
    channels, muscles = montage_channels(parse_list(args.muscles), _parse_channels(args.channels_used))
    if calibration is None and args.board in NO_CALIBRATION_BOARDS:
        raise ConfigError(_nothing_to_calibrate(args.board))
    cal_options = {"rest_s": args.rest_s, "n_contractions": args.contractions, "contraction_s": args.contraction_s}
    if args.submax is not None:
        if not 0 < args.submax <= 100:
            raise ConfigError(f"--submax {args.submax:g} is outside 0-100 %; give the reference's % of maximum")
        cal_options.update(kind="submax", reference_level_pct=args.submax)
    headless = headless_needed(args.headless)

    def acquire(part: int, path: Path) -> Acquisition:
        return Acquisition(
            args.board,
            serial_port=args.serial_port,
            playback_file=getattr(args, "playback_file", None),
            gain=args.gain,
            record_to=path,
            muscles=muscles,
            record_meta={"patient": args.patient} if args.patient else None,
        )

    def drill_factory(fs_hz: float, n: int, names: list[str]) -> Drill:
        try:
            return make_drill(config, fs_hz=fs_hz, n_channels=n, channel_names=names)
        except FeedbackError as err:
            raise ConfigError(str(err)) from None

    session = Session(
        acquire,
        drill_factory,
        calibration,
        record_to=out,
        headless=headless,
        fps_hz=args.fps,
        duration_s=capped_duration_s(args.duration),
        mains_hz=args.mains or None,
        envelope=args.envelope,
        tone=args.tone,
        channels=channels,
        calibration_options=cal_options,
        lsl=args.lsl,
        lsl_scope=args.lsl_scope,
        progress=(lambda line: print(line, flush=True)) if headless else None,
        fullscreen=not args.window,
    )
    print(
        f"emg train: {config.name} ({config.kind}) on {args.board}, "
        f"{'offscreen' if headless else 'window'}; recording to {out}",
        flush=True,
    )
    result = session.run()
    s = result.summary
    if s.get("reps_attempted") is not None:
        print(
            f"reps: {s.get('reps_succeeded')} of {s.get('reps_attempted')} succeeded, {s.get('reps_planned')} "
            f"planned ({s.get('stop_reason')})"
        )
    else:
        print(f"session ended: {s.get('stop_reason')}")
    if args.latency_report:
        print(format_latency_report(s))
    for rec in result.recordings:
        print(f"recording: {rec} (+ {Path(rec).with_suffix('.json').name})")
    print(f"summary: {result.summary_path}")
    if result.frame_png and headless:
        print(f"final frame: {result.frame_png}")
    if s.get("calibration_file"):
        print(f"calibration saved: {s['calibration_file']} (reuse it with --calibration)")
    if result.board_lost:
        print(f"error: board lost during the session ({result.error}); the recording is kept")
        return 3
    if s.get("calibration_refused"):
        print("\n".join(refusal_lines(s["calibration_refused"])))
        return 2
    return 0
