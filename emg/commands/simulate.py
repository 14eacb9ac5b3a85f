"""``emg simulate``: write a simulated patient's recording (project format) with its ground truth."""

from __future__ import annotations

import argparse
from datetime import UTC

KINDS = ("mains", "ecg", "motion", "pop", "lead_off", "railing", "dropped", "fatigue", "tremor", "cocontraction")


def _kinds(text: str) -> list[str]:
    out = [k.strip().replace("-", "_") for k in text.split(",") if k.strip()]
    for k in out:
        if k not in KINDS:
            raise argparse.ArgumentTypeError(f"unknown kind {k!r}; use: {', '.join(KINDS)}")
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="write a simulated patient's sEMG recording with ground truth",
        description=(
            "Simulate a patient's surface EMG (realistic spectrum, activation following drill-like cues, "
            "fatigue, co-contraction, artefacts) and write it in the project's recording format: PATH.csv "
            "(BrainFlow rows of the board matching --fs: 250 Hz Cyton with its sinc^3 decimation and "
            "aliasing, 200 Hz Ganglion, 125 Hz Cyton+Daisy, other rates an ideal amplifier), PATH.json "
            "(sidecar with the ground truth under 'ground_truth': reference levels, onsets/offsets, cues, "
            "every injected artefact) and PATH.truth.npz (activation per sample)."
        ),
        epilog=(
            "examples:\n"
            "  emg simulate --duration 60 --out recordings/sim.csv\n"
            "  emg simulate --scenario sustained --patient healthy --fs 1000 --out fatigue.csv\n"
            "  emg simulate --scenario artefact_tour --fs 250 --out tour.csv --without railing\n"
            "  emg simulate --list"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        default=None,
        help="scenario name or TOML file (default: reps, repeated contract-hold-relax reps)",
    )
    p.add_argument(
        "--patient",
        metavar="PRESET|FILE",
        default=None,
        help="patient preset or TOML file (default: the scenario's; e.g. healthy, "
        "post_op_quadriceps, overactive_antagonist)",
    )
    p.add_argument(
        "--duration", type=float, metavar="S", default=None, help="length in seconds (default: the scenario's)"
    )
    p.add_argument(
        "--fs",
        type=float,
        metavar="HZ",
        default=250.0,
        help="sampling rate in Hz (default 250, the Cyton; 200 Ganglion, 125 Cyton+Daisy, any other >= 100)",
    )
    p.add_argument(
        "--out", metavar="PATH.csv", required=False, help="output recording (PATH.csv + PATH.json + PATH.truth.npz)"
    )
    p.add_argument(
        "--channels",
        type=int,
        metavar="N",
        default=None,
        help="channels to write (default: one per muscle of the patient; extra channels carry noise only)",
    )
    p.add_argument(
        "--board",
        metavar="NAME",
        default=None,
        help="row layout to write (default: the board matching --fs; synthetic for other rates)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same file (default 0)")
    p.add_argument(
        "--session",
        type=int,
        default=0,
        metavar="K",
        help="session number, 0 = first (the patient's session-to-session change is applied K times)",
    )
    p.add_argument(
        "--mains",
        type=float,
        metavar="HZ",
        default=None,
        choices=(0.0, 50.0, 60.0),
        help="mains hum at 50 or 60 Hz (0: none; default: the scenario's)",
    )
    p.add_argument(
        "--without",
        type=_kinds,
        action="append",
        default=[],
        metavar="KIND[,KIND]",
        help=f"switch off artefacts or physiology: {', '.join(KINDS)}",
    )
    p.add_argument(
        "--with",
        dest="with_",
        type=_kinds,
        action="append",
        default=[],
        metavar="KIND[,KIND]",
        help="switch on mains, ecg, fatigue, tremor or cocontraction",
    )
    p.add_argument(
        "--decimation",
        choices=("auto", "sinc3", "none"),
        default="auto",
        help="board decimation filter: auto (sinc^3 at 250/200/125 Hz), sinc3, none",
    )
    p.add_argument(
        "--band", type=float, nargs=2, metavar=("LO", "HI"), default=None, help="override every muscle's EMG band in Hz"
    )
    p.add_argument(
        "--start",
        metavar="ISO8601",
        default=None,
        help="the recording's start time, e.g. 2026-03-02T10:00 (UTC unless an offset is given); "
        "default now. Date simulated sessions for `emg progress`",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing recording at --out")
    p.add_argument("--list", action="store_true", help="list the patient presets and scenarios, then exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from emg.errors import ConfigError
    from emg.simulation.params import list_presets, list_scenarios, load_preset
    from emg.simulation.scenario import load_scenario

    if args.list:
        print("patient presets:")
        for name in list_presets():
            print(f"  {name:24s} {load_preset(name).description}")
        print("scenarios:")
        for name in list_scenarios():
            sc = load_scenario(name)
            print(f"  {name:24s} {sc.description} [{sc.duration_s:g} s, patient {sc.patient}]")
        return 0
    if not args.out:
        raise ConfigError("--out PATH.csv is required; give the recording to write (e.g. --out recordings/sim.csv)")
    if args.channels is not None and args.channels < 1:
        raise ConfigError(f"--channels {args.channels} is impossible; give at least 1")
    if args.session < 0:
        raise ConfigError(f"--session {args.session} is impossible; sessions count from 0")
    from emg.simulation.generator import simulate
    from emg.simulation.writer import layout_for, write_simulation

    disable = {k for group in args.without for k in group}
    enable = {k for group in args.with_ for k in group}
    mains = args.mains
    if mains == 0.0:
        disable.add("mains")
        mains = None
    start_unix = None
    if args.start:
        from datetime import datetime

        try:
            when = datetime.fromisoformat(args.start)
        except ValueError:
            raise ConfigError(f"--start {args.start!r} is not an ISO 8601 time; give e.g. 2026-03-02T10:00") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        start_unix = when.timestamp()
    t0 = time.perf_counter()
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration {args.duration:g} is impossible; give a positive number of seconds")
    band = tuple(args.band) if args.band else None
    if band is not None and not 0 <= band[0] < band[1]:
        raise ConfigError(f"--band {band[0]:g} {band[1]:g} is impossible; give LO < HI in Hz")
    res = simulate(
        args.scenario,
        args.patient,
        duration_s=args.duration,
        fs_hz=args.fs,
        n_channels=args.channels,
        seed=args.seed,
        session=args.session,
        disable=disable,
        enable=enable,
        mains_hz=mains,
        decimation=args.decimation,
        band_hz=band,
    )
    layout_for(res.fs_hz, res.exg_uv.shape[0], args.board)  # fail before writing if it cannot fit
    t_gen = time.perf_counter() - t0
    meta = write_simulation(res, args.out, board=args.board, overwrite=args.force, start_unix_s=start_unix)
    t_all = time.perf_counter() - t0
    truth = res.truth
    n_act = len(truth["activations"][truth["scenario"]["channel"]]) if truth["activations"] else 0
    arts = [a["kind"] for a in truth["artefacts"]]
    print(
        f"wrote {meta['data_file']} and its sidecar: {res.n_samples - int(res.dropped.sum())} samples, "
        f"{res.duration_s:g} s, {res.exg_uv.shape[0]} channels ({', '.join(res.channel_names)}), "
        f"{meta['board_name']} layout"
    )
    print(
        f"patient {truth['patient']['name']} (session {truth['session']}, "
        f"ceiling {truth['ceiling']:.0%} of reference), "
        f"scenario {truth['scenario']['name']}: contractions on channel {truth['scenario']['channel']}: {n_act}"
    )
    print(f"board model: {truth['board_description']}")
    ref = ", ".join(
        f"{c['name']} {c['reference_uv']:g} uV ({c['reference_uv_at_board']:.0f} uV at the board)"
        for c in truth["channels"]
        if c.get("muscle")
    )
    print(f"reference (100 %): {ref}")
    print("artefacts: " + (", ".join(f"{k} x{arts.count(k)}" for k in dict.fromkeys(arts)) if arts else "none"))
    print(f"ground truth: sidecar key 'ground_truth', per-sample activation in {truth_name(meta)}")
    print(f"generated in {t_gen:.2f} s, written in {t_all - t_gen:.2f} s")
    return 0


def truth_name(meta: dict) -> str:
    return str(meta.get("ground_truth", {}).get("truth_file", ""))
