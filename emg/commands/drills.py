"""``emg drills``: list the shipped drill files, check a drill file, or print one."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "drills",
        help="list the drills (TOML files) and check your own",
        description="List the drill files shipped with emg (use the name or a path with `emg train --drill`), "
        "check drill files you wrote (every error names the field and its line), or print one "
        "to start your own from it. The TOML format is documented in docs/DRILLS.md.",
        epilog="examples:  emg drills   |   emg drills --check my_drill.toml   |   "
        "emg drills --show reach_hold_quadriceps > my_drill.toml",
    )
    p.add_argument("--check", nargs="+", metavar="FILE", help="validate these drill files and say what they ask")
    p.add_argument("--show", metavar="NAME", help="print a shipped drill file (or any drill file) as text")
    p.add_argument("--dir", metavar="DIR", help="also list the drill files in this folder")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def _configs(paths):
    from emg.errors import ConfigError
    from feedback.drills import load_drill
    from feedback.errors import DrillConfigError

    out = []
    for path in paths:
        try:
            out.append((path, load_drill(path), None))
        except DrillConfigError as err:
            out.append((path, None, ConfigError(str(err))))
    return out


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from emg.errors import ConfigError
    from feedback.drills import find_drill, shipped_drills
    from feedback.errors import DrillConfigError

    if args.check:
        bad = 0
        for path, cfg, err in _configs([Path(p) for p in args.check]):
            if err is not None:
                bad += 1
                print(f"error: {err}")
            else:
                print(f'ok: {path}: {cfg.kind} "{cfg.name}": {cfg.describe()}')
        if bad:
            raise ConfigError(
                f"{bad} of {len(args.check)} drill files have errors (listed above); fix the named fields"
            )
        return 0
    if args.show:
        try:
            path = find_drill(args.show)
            print(path.read_text(encoding="utf-8"), end="")
        except DrillConfigError as err:
            raise ConfigError(str(err)) from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(
                f"drill file {args.show} cannot be read as text ({type(err).__name__}); "
                "give a .toml drill file or a shipped drill name (`emg drills` lists them)"
            ) from None
        return 0
    paths = list(shipped_drills())
    if args.dir:
        folder = Path(args.dir)
        if not folder.is_dir():
            raise ConfigError(f"drill folder {folder} not found; give a folder that holds .toml drill files")
        paths += sorted(folder.glob("*.toml"))
    rows = []
    for path, cfg, err in _configs(paths):
        rows.append(
            {
                "name": path.stem,
                "path": str(path),
                "kind": cfg.kind if cfg else None,
                "title": cfg.name if cfg else None,
                "what": cfg.describe() if cfg else None,
                "description": cfg.description if cfg else None,
                "error": str(err) if err else None,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows) if rows else 10
    print(f"{'drill':<{width}}  {'kind':<10}  what it asks")
    for r in rows:
        if r["error"]:
            print(f"{r['name']:<{width}}  {'INVALID':<10}  {r['error']}")
        else:
            print(f"{r['name']:<{width}}  {r['kind']:<10}  {r['what']}")
    print(
        f"\n{len(rows)} drills. Use one with `emg train --drill NAME` (or a path to your own .toml); "
        "start your own from `emg drills --show NAME`; the format is in docs/DRILLS.md."
    )
    return 0
