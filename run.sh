#!/usr/bin/env bash
# One entry point for a fresh machine: installs what is missing, then runs a job.
#   ./run.sh demo [emg demo options]   live biofeedback demo on a simulated board (headless without a display)
#   ./run.sh test [pytest options]     the test suite
#   ./run.sh lint                      ruff check and ruff format --check over the tree (changes nothing)
#   ./run.sh emg ARGS...               any emg command inside the project's environment
set -euo pipefail
cd "$(dirname "$0")"
job="${1:-demo}"; shift || true

# Qt (PySide6) needs a few shared libraries that minimal Debian images lack.
QT_DEBS="libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0 libxcb-xkb1"
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $QT_DEBS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system libraries for Qt:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "note: Qt may need these Debian packages (install them as root):$missing" >&2
  fi
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 is needed (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing python3-venv"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    "$PY" -m venv .venv || { echo "error: could not create a virtual environment; on Debian install python3-venv (as root: apt-get install python3-venv)" >&2; exit 2; }
  fi
fi
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi

case "$job" in
  demo) exec .venv/bin/emg demo "$@" ;;
  test) exec .venv/bin/python -m pytest "$@" ;;
  lint)  # both checks run, so one run lists every problem; fix with `.venv/bin/ruff check --fix` / `ruff format`
    rc=0
    .venv/bin/ruff check . || rc=1
    .venv/bin/ruff format --check . || rc=1
    exit "$rc" ;;
  emg)  exec .venv/bin/emg "$@" ;;
  *) echo "usage: ./run.sh demo|test|lint|emg [args]" >&2; exit 2 ;;
esac
