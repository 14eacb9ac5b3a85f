"""Every command README.md shows works as written (on the virtual Cyton and the synthetic board).

The commands come from the README's ```sh blocks (continuation lines joined, comments dropped) and run in
order, in a scratch folder (so `recordings/...` and `-o report.html` land there, not in the repository), as
`python -m emg ...`. Where the README shows a hardware port (`/dev/ttyUSB0`) the port of a running virtual
Cyton (`emg virtual-cyton --source patient`, itself a README command) takes its place. `EMG_SESSION_MAX_S=12`
(the documented override, docs/LIVE_SESSION.md) caps each `emg demo` / `emg train` session at 12 s.

Parsed only (the command line is checked with the CLI's own parser, nothing runs), with the reason:
commands that run until Ctrl-C, need another program's LSL stream, or are long benchmarks covered by
tests/test_bench.py; `./run.sh` lines (the whole installer and test suite).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from emg.cli import build_parser

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
HARDWARE_PORT = "/dev/ttyUSB0"

#: README commands checked for parsing only, and why
PARSE_ONLY = {
    "until Ctrl-C": lambda argv: argv[:1] == ["record"] and "--duration" not in argv,
    "needs another program's LSL stream": lambda argv: any(a.startswith("lsl:") for a in argv),
    "benchmark, covered by tests/test_bench.py": lambda argv: argv[:1] == ["bench"],
    "runs until Ctrl-C; started once as the virtual Cyton for the other commands": lambda argv: (
        argv[:1] == ["virtual-cyton"]
    ),
}


def readme_commands() -> list[str]:
    """The shell commands in README.md's ```sh blocks, continuation lines joined, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            cmd = re.sub(r"(^|\s)#.*$", "", line).strip()
            if cmd and not cmd.startswith("#"):
                out.append(re.sub(r"\s+", " ", cmd))
    return out


def _why_parse_only(argv: list[str]) -> str | None:
    return next((why for why, test in PARSE_ONLY.items() if test(argv)), None)


def test_readme_shows_the_commands_this_test_expects():
    cmds = readme_commands()
    assert any(c.startswith("emg demo") for c in cmds) and any(c.startswith("emg train") for c in cmds)
    assert all(c.startswith(("emg ", "./run.sh ")) for c in cmds), cmds


def test_every_readme_command_works_as_written(tmp_path):
    env = {**os.environ, "EMG_SESSION_MAX_S": "12", "QT_QPA_PLATFORM": "offscreen"}
    vc = subprocess.Popen(
        [sys.executable, "-m", "emg", "virtual-cyton", "--source", "patient"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = vc.stdout.readline().strip()
        assert port.startswith("/dev/"), port
        parser = build_parser()
        failures = []
        for cmd in readme_commands():
            words = shlex.split(cmd)
            if words[0] == "./run.sh":
                continue  # the installer and the whole suite: not run from inside the suite
            argv = [port if w == HARDWARE_PORT else w for w in words[1:]]
            if _why_parse_only(argv):
                parser.parse_args(argv)  # exits (SystemExit) on a command line the CLI does not accept
                continue
            proc = subprocess.run(
                [sys.executable, "-m", "emg", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
            )
            if proc.returncode != 0:
                failures.append(f"{cmd}\n  exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-600:]}")
        assert not failures, "\n".join(failures)
    finally:
        vc.terminate()
        vc.wait(10)
