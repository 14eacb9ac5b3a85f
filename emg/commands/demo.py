"""``emg demo``: a complete biofeedback session with no hardware (simulated patient on the virtual Cyton)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="live biofeedback demo: simulated patient on a virtual Cyton, no hardware needed",
        description="Runs a whole session with no hardware: a simulated patient streams through a virtual "
        "OpenBCI Cyton that BrainFlow's real Cyton driver reads; the session calibrates (rest, then reference "
        "contractions), then runs the drill (any shipped drill or drill file; default a 3-rep reach-and-hold) "
        "with the live view, recording everything. The patient fits the drill: both quadriceps for symmetry, "
        "an overactive upper trapezius for down-training, unstable balance (accelerometer) for balance, the "
        "post-operative quadriceps otherwise; it answers awareness questions itself. Without a display (no "
        "DISPLAY/WAYLAND_DISPLAY, or QT_QPA_PLATFORM=offscreen) or with --headless it renders offscreen and "
        "writes the recording, a summary JSON (reps, per-rep metrics, latency) and a PNG of the final frame. "
        "The window opens full screen (--window: 1280x720). Keys: space pause, m mark, Esc stop, Up/Down move "
        "the target 5 %%, F11 full screen on/off, T therapist strip, digits + Enter an estimate; the end "
        "summary stays up until Esc or the window is closed. EMG_SESSION_MAX_S=S in the environment caps "
        "every session at S seconds (quick checks).",
    )
    p.add_argument("--headless", action="store_true", help="render offscreen, no window (automatic without a display)")
    p.add_argument("--window", action="store_true", help="a 1280x720 window instead of full screen")
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="end the session after S seconds of data even if the drill is not finished",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for demo.csv/.json (recording), demo.summary.json, demo.png (default recordings/demo-<date-time>)",
    )
    p.add_argument(
        "--reps", type=int, default=None, help="reps of the drill in all, one set (default: the drill file's)"
    )
    p.add_argument(
        "--drill", default=None, help="drill file or shipped drill name (default reach_hold_demo; see `emg drills`)"
    )
    p.add_argument(
        "--sim-patient",
        default=None,
        metavar="PRESET",
        help="simulated patient preset or TOML file (default: one that fits the drill; `emg simulate --list`)",
    )
    p.add_argument(
        "--patient-id", default=None, metavar="ID", help="patient ID to label the recording with (as `emg train`)"
    )
    p.add_argument("--fps", type=float, default=60.0, help="frames a second (default 60)")
    p.add_argument("--tone", action="store_true", help="pitch follows activation, where an audio output exists")
    p.add_argument("--seed", type=int, default=7, help="simulated patient's random seed (default 7)")
    from emg.acquire.lsl import add_lsl_options

    add_lsl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from emg.errors import ConfigError
    from emg.live.demo import DEMO_DRILL, demo_plan, run_demo
    from emg.live.display import display_problem, headless_needed
    from emg.live.latency import format_latency_report
    from emg.live.reporting import refusal_lines
    from emg.live.session import capped_duration_s

    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"--duration {args.duration} is not a positive number of seconds; give e.g. --duration 30")
    if args.reps is not None and not 1 <= args.reps <= 1000:
        raise ConfigError(f"--reps {args.reps} is outside 1-1000; give e.g. --reps 3")
    out = Path(args.out) if args.out else Path("recordings") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    if (out / "demo.csv").exists():
        raise ConfigError(
            f"{out / 'demo.csv'} already exists; give another --out folder (recordings are never overwritten)"
        )
    plan = demo_plan(args.drill or DEMO_DRILL, patient=args.sim_patient, reps=args.reps)
    headless = headless_needed(args.headless)
    problem = None if args.headless else display_problem()
    mode = f"offscreen ({problem})" if headless and problem else ("offscreen" if headless else "window")
    print(
        f"emg demo: simulated patient {plan.patient} ({', '.join(plan.muscles)}) on a virtual Cyton, {mode}; "
        f"{plan.headline()}",
        flush=True,
    )
    result = run_demo(
        out,
        duration_s=capped_duration_s(args.duration),
        headless=headless,
        plan=plan,
        patient_id=args.patient_id,
        fullscreen=not args.window,
        fps_hz=args.fps,
        tone=args.tone,
        seed=args.seed,
        lsl=args.lsl,
        lsl_scope=args.lsl_scope,
        progress=(lambda line: print(line, flush=True)) if headless else None,
    )
    s = result.summary
    att, ok, planned = s.get("reps_attempted"), s.get("reps_succeeded"), s.get("reps_planned")
    if att is not None:
        print(f"reps: {ok} of {att} succeeded, {planned} planned ({s.get('stop_reason')})")
    else:
        print(f"session ended: {s.get('stop_reason')}")
    if s.get("calibration_refused"):
        print("\n".join(refusal_lines(s["calibration_refused"])))
    print(format_latency_report(s))
    print("outputs:")
    for rec in result.recordings:
        print(f"  recording     {rec} (+ {Path(rec).with_suffix('.json').name})")
    print(f"  summary       {result.summary_path}")
    if result.frame_png:
        print(f"  final frame   {result.frame_png}")
    if s.get("calibration_file"):
        print(f"  calibration   {s['calibration_file']}")
    if result.board_lost:
        print(f"error: board lost during the session ({result.error}); the recording is kept")
        return 3
    if s.get("calibration_refused"):
        return 2
    return 0
