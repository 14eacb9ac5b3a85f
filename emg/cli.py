"""The ``emg`` command line.

Each subcommand lives in its own module under :mod:`emg.commands` and exposes
``register(subparsers)``, which adds an argparse parser whose ``func`` default
runs the command and returns an exit code. Heavy imports stay inside ``func`` so
``emg --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys

from emg import __version__
from emg.errors import EmgError

log = logging.getLogger("emg")

#: Subcommand modules, in the order ``emg --help`` lists them.
COMMAND_MODULES = (
    "demo",
    "train",
    "drills",
    "boards",
    "record",
    "replay",
    "virtual_cyton",
    "simulate",
    "analyze",
    "report",
    "progress",
    "export",
    "bench",
)


#: Commands that run a live session or a board: a closed stdout pipe must not end them.
_LIVE_COMMANDS = {"demo", "train", "record", "replay", "virtual-cyton"}


class _PipeSafeStdout:
    """stdout for live commands: when the reader goes away (`emg record ... | head -1`) the output is
    dropped and the session (and its recording) carries on instead of ending early."""

    def __init__(self, stream):
        self._stream = stream
        self.broken = False

    def _broke(self) -> None:
        self.broken = True
        try:  # later writes and the flush at exit go to /dev/null
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, self._stream.fileno())
            os.close(fd)
        except (OSError, ValueError):
            pass

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._broke()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (problem and where to look), not a usage dump."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="emg",
        description="Surface-EMG biofeedback for muscle re-activation training "
        "(OpenBCI Cyton/Daisy/Ganglion, BrainFlow synthetic and playback boards).",
    )
    parser.add_argument("--version", action="version", version=f"emg {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", help="show informational logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        modname = f"emg.commands.{name}"
        if importlib.util.find_spec(modname) is None:
            continue
        importlib.import_module(modname).register(sub)
    return parser


def _setup_logging(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.debug, args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if args.command in _LIVE_COMMANDS and sys.stdout is sys.__stdout__ and sys.stdout is not None:
        sys.stdout = _PipeSafeStdout(sys.stdout)  # type: ignore[assignment]
    try:
        code = args.func(args)
        return int(code or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`emg ... | head`): not an error of ours.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except EmgError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except Exception as err:
        if args.debug:
            raise
        from dsp.errors import SignalError

        if isinstance(err, SignalError):
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"error: unexpected {type(err).__name__}: {err} (run again with --debug for details)", file=sys.stderr)
        return 1
