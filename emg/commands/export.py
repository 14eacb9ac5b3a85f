"""``emg export``: a recording to EDF+ / BDF+ or into a BIDS-EMG dataset."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a recording to EDF+/BDF+ or a BIDS-EMG dataset",
        description="Export a recording (this project's PATH.csv + PATH.json, an OpenBCI GUI text file,\n"
        "EDF/BDF or a plain CSV) to EDF+ or BDF+ (microvolts, muscles in the channel labels,\n"
        "device and filters in the header, every event as an annotation), or add it to a\n"
        "BIDS-EMG dataset (BDF+, _emg.json, channels.tsv, events.tsv, dataset_description.json).\n"
        "Existing files are never replaced without --force; a BIDS dataset only gains files.\n"
        "Details: docs/INTEROP.md",
        epilog="examples:\n"
        "  emg export recordings/s1.csv --to bdf --out s1.bdf\n"
        "  emg export recordings/s1.csv --to bids --out study/ --subject P01 --session 1 --task reachhold\n"
        "  emg export old.csv --to edf --out old.edf --fs 250 --board cyton   (a file without sidecar)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("path", help="the recording (PATH.csv with its PATH.json sidecar, or another readable file)")
    p.add_argument(
        "--to",
        required=True,
        choices=("bdf", "edf", "bids"),
        help="bdf: BDF+ (24 bit, recommended); edf: EDF+ (16 bit); bids: a BIDS-EMG dataset folder",
    )
    p.add_argument("--out", required=True, help="output file (.bdf/.edf) or, for --to bids, the dataset folder")
    p.add_argument(
        "--force", action="store_true", help="replace an existing output file (BIDS: this recording's own files)"
    )
    p.add_argument(
        "--fs",
        type=float,
        default=None,
        help="sampling rate in Hz for a recording that does not state it (no sidecar, plain CSV)",
    )
    p.add_argument(
        "--board",
        default=None,
        help="board that recorded a BrainFlow file without sidecar (cyton, cyton-daisy, ganglion, synthetic)",
    )
    p.add_argument("--muscles", default=None, help="muscle per channel, comma-separated (overrides the recording's)")
    p.add_argument(
        "--accel",
        action="store_true",
        help="also export the board's accelerometer (3 signals in g, after the EMG channels)",
    )
    bids = p.add_argument_group("BIDS (--to bids)")
    bids.add_argument(
        "--subject", default=None, help="participant label, letters and digits (e.g. P01); also the EDF+ patient code"
    )
    bids.add_argument(
        "--session",
        default=None,
        help="session label (e.g. 1 or pre), or 'next' for the subject's next numbered session",
    )
    bids.add_argument("--task", default=None, help="task label (e.g. reachhold, mvc, rest)")
    bids.add_argument("--run", default=None, help="run number when the same task is recorded again in a session")
    bids.add_argument("--acq", default=None, help="acquisition label (optional)")
    bids.add_argument(
        "--mains",
        type=int,
        default=None,
        choices=(50, 60),
        help="power-line frequency in Hz (default: the recording's, else n/a)",
    )
    bids.add_argument(
        "--placement", default=None, help="electrode placement description (EMGPlacementSchemeDescription)"
    )
    bids.add_argument("--ground", default=None, help="ground electrode location (EMGGround)")
    bids.add_argument(
        "--bids-meta",
        default=None,
        metavar="FILE.json",
        help='more _emg.json fields for every recording, e.g. {"InstitutionName": ..., '
        '"ElectrodeManufacturer": ..., "InterelectrodeDistance": 20}',
    )
    bids.add_argument("--task-description", default=None, help="TaskDescription for _emg.json (default: the drill)")
    bids.add_argument("--dataset-name", default=None, help="Name for a new dataset's dataset_description.json")
    bids.add_argument("--authors", default=None, help="a new dataset's authors, comma-separated")
    bids.add_argument("--license", default=None, help="a new dataset's licence (SPDX id, e.g. CC0-1.0 or CC-BY-4.0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emg.errors import ConfigError
    from emg.export import export_bids, load_for_export, write_edf

    out = Path(args.out)
    if args.to in ("bdf", "edf"):
        if out.is_dir():  # a folder: the file is named after the recording
            out = out / f"{Path(args.path).stem}.{args.to}"
        elif out.suffix == "":
            out = out.with_suffix("." + args.to)
        elif out.suffix.lower() != "." + args.to:
            raise ConfigError(
                f"--to {args.to} writes a .{args.to} file, but --out is {out.name}; "
                f"use --out {out.with_suffix('.' + args.to).name}"
            )
        if out.exists() and not args.force:  # refuse before reading a long recording
            raise ConfigError(f"{out} already exists; pass --force to replace it or choose another --out")
    else:
        missing = [flag for flag, value in (("--subject", args.subject), ("--task", args.task)) if not value]
        if missing:
            raise ConfigError(
                f"--to bids needs {' and '.join(missing)} (BIDS entities), e.g. "
                "--subject P01 --task reachhold [--session 1]"
            )

    rec = load_for_export(args.path, fs_hz=args.fs, board=args.board)
    if (rec.meta or {}).get("complete") is False:
        print(
            f"note: {args.path} is marked incomplete (still being recorded, or the recorder was killed); "
            f"exporting the {rec.n_samples} samples on disk"
        )
    if args.muscles:
        muscles = [m.strip() for m in args.muscles.split(",")]
        if len(muscles) != rec.n_channels:
            raise ConfigError(
                f"--muscles lists {len(muscles)} muscles but the recording has {rec.n_channels} "
                "channels; give one per channel (empty for none: 'a,,c')"
            )
        rec.muscles = muscles

    if args.to in ("bdf", "edf"):
        res = write_edf(rec, out, fmt=args.to, force=args.force, include_accel=args.accel, subject=args.subject)
        q = max(res.quantum_uv[: rec.n_channels])
        channels = f"{rec.n_channels} channels" + (" + 3 accelerometer axes" if args.accel else "")
        print(
            f"wrote {res.path}: {res.file_type.upper()}, {channels} x {res.n_samples} samples "
            f"at {res.fs_hz:g} Hz ({res.n_samples / res.fs_hz:.1f} s), {res.n_events} events as annotations; "
            f"resolution {q:.3g} uV (values within {q / 2:.3g} uV)"
        )
        if res.padded_samples:
            print(
                f"note: the last data record is padded with {res.padded_samples} copies of the last sample "
                "(annotation 'recording end' marks the real end)"
            )
        if res.invalid_samples:
            print(f"note: {res.invalid_samples} NaN/inf samples were written as 0 uV (annotated)")
        return 0

    extra = None
    if args.bids_meta:
        import json

        try:
            extra = json.loads(Path(args.bids_meta).read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read --bids-meta {args.bids_meta}: {err.strerror}; check the path") from None
        except ValueError as err:
            raise ConfigError(f"--bids-meta {args.bids_meta} is not valid JSON ({err}); fix the file") from None
        if not isinstance(extra, dict):
            raise ConfigError(f"--bids-meta {args.bids_meta} must hold a JSON object of _emg.json fields")
    res = export_bids(
        rec,
        out,
        subject=args.subject,
        task=args.task,
        session=args.session,
        run=args.run,
        acquisition=args.acq,
        force=args.force,
        power_line_hz=args.mains,
        placement_description=args.placement,
        ground=args.ground,
        dataset_name=args.dataset_name,
        include_accel=args.accel,
        license_id=args.license,
        extra_sidecar=extra,
        task_description=args.task_description,
        authors=[a.strip() for a in args.authors.split(",") if a.strip()] if args.authors else None,
    )
    what = "new BIDS dataset" if res.created_dataset else "BIDS dataset"
    print(
        f"added {res.data_file.relative_to(res.root)} to {what} {res.root} "
        f"({res.edf.n_channels} channels, {res.edf.n_samples / res.edf.fs_hz:.1f} s, {res.edf.n_events} events)"
    )
    for path in res.written[1:]:
        print(f"  wrote {path.relative_to(res.root)}")
    for path in res.updated:
        print(f"  updated {path.relative_to(res.root)}")
    return 0
