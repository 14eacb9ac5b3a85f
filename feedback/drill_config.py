"""Drill files: TOML loading and validation, naming the field and its line on any error.

A drill file is TOML with a top-level ``kind`` and ``name`` and a few tables (``[target]``,
``[protocol]``, ``[shaping]``, ``[gating]``, ...); which tables and fields each kind takes is
the :data:`SCHEMAS` table below (documented for therapists in docs/DRILLS.md). Missing optional
fields get their defaults; unknown fields are errors (a typo must not silently fall back to a
default). Channels in files are the board's 1-based input numbers or channel/muscle names;
:meth:`DrillConfig.resolve_channel` turns them into 0-based indices for a session.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsp.quality.flags import QualityFlag
from feedback.errors import DrillConfigError

REQUIRED = object()

#: the highest channel number a drill may name: the largest board (Cyton+Daisy, synthetic) has 16 inputs
MAX_CHANNEL = 16
#: the highest band edge (% of reference) a drill may set: above twice the reference is not a therapy target
MAX_BAND_PCT = 200.0

#: The artefact flag names a drill can gate on: the bits of :class:`dsp.quality.QualityFlag`.
FLAG_BITS = {flag.name.lower(): int(flag) for flag in QualityFlag if flag}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a table: its type, default (``REQUIRED`` if none) and allowed range.

    ``kind``: ``float``, ``int``, ``str``, ``bool``, ``band`` ([lo, hi] %, within 0-``MAX_BAND_PCT``), ``channel``
    (1-based number up to ``MAX_CHANNEL``, or name), ``channels`` (list of them), ``floats`` (non-empty list of
    numbers),
    ``choice`` (one of ``choices``), ``flags`` (list of artefact flag names).
    ``lo``/``hi`` bound numbers (inclusive); ``positive`` requires > 0.
    """

    key: str
    kind: str
    default: Any = REQUIRED
    lo: float | None = None
    hi: float | None = None
    positive: bool = False
    choices: tuple[str, ...] = ()
    example: str = ""


def _f(key: str, kind: str, default: Any = REQUIRED, **kw: Any) -> FieldSpec:
    return FieldSpec(key, kind, default, **kw)


KINDS = (
    "reach_hold",
    "downtrain",
    "tracking",
    "isolation",
    "symmetry",
    "balance",
    "stretch",
    "awareness",
    "assessment",
)

_PROTOCOL = [
    _f("reps", "int", 5, lo=1, hi=1000, example="reps = 5"),
    _f("sets", "int", 1, lo=1, hi=100, example="sets = 2"),
    _f("rest_s", "float", 5.0, lo=0, hi=3600, example="rest_s = 5"),
    _f("set_rest_s", "float", 30.0, lo=0, hi=3600, example="set_rest_s = 30"),
    _f("start_delay_s", "float", 3.0, lo=0, hi=600, example="start_delay_s = 3"),
]
_WORK = [
    _f("work_s", "float", 10.0, positive=True, hi=3600, example="work_s = 10"),
    _f("success_flash_s", "float", 0.8, lo=0, hi=10, example="success_flash_s = 0.8"),
]
_RELAX = [
    _f("rest_threshold_pct", "float", 10.0, lo=0, hi=100, example="rest_threshold_pct = 10"),
    _f("relax_timeout_s", "float", 10.0, positive=True, hi=600, example="relax_timeout_s = 10"),
]
_SHAPING = [
    _f("enabled", "bool", False, example="enabled = true"),
    _f("step_pct", "float", 5.0, positive=True, hi=100, example="step_pct = 5"),
    _f("raise_after", "int", 3, lo=1, hi=100, example="raise_after = 3"),
    _f("lower_after", "int", 2, lo=1, hi=100, example="lower_after = 2"),
    _f("min_pct", "float", 5.0, lo=0, hi=1000, example="min_pct = 5"),
    _f("max_pct", "float", 100.0, lo=0, hi=1000, example="max_pct = 100"),
]
_GATING = [
    _f("flags", "flags", tuple(FLAG_BITS), example='flags = ["railed", "lead_off", "spike", "dropped", "nan"]'),
    _f("void_after_s", "float", 0.5, lo=0, hi=600, example="void_after_s = 0.5"),
]
_HOLD_TARGET = [
    _f("channel", "channel", example="channel = 1"),
    _f("band_pct", "band", example="band_pct = [40, 60]"),
    _f("hold_s", "float", positive=True, hi=600, example="hold_s = 3"),
    _f("dropout_tolerance_s", "float", 0.2, lo=0, hi=10, example="dropout_tolerance_s = 0.2"),
]
_TOP = [
    _f("kind", "choice", choices=KINDS, example='kind = "reach_hold"'),
    _f("name", "str", example='name = "Quadriceps reach and hold"'),
    _f("description", "str", "", example='description = "..."'),
]

#: kind -> table -> fields. Table ``""`` is the top level; ``"blocks*"`` is an array of tables.
SCHEMAS: dict[str, dict[str, list[FieldSpec]]] = {
    "reach_hold": {
        "": _TOP,
        "target": _HOLD_TARGET,
        "protocol": _PROTOCOL + _WORK + _RELAX,
        "shaping": _SHAPING,
        "gating": _GATING,
    },
    "isolation": {
        "": _TOP,
        "target": _HOLD_TARGET,
        "quiet": [
            _f("channel", "channel", example="channel = 2"),
            _f("max_pct", "float", positive=True, hi=1000, example="max_pct = 15"),
        ],
        "protocol": _PROTOCOL + _WORK + _RELAX,
        "shaping": _SHAPING,
        "gating": _GATING,
    },
    "symmetry": {
        "": _TOP,
        "target": [
            _f("left_channel", "channel", example="left_channel = 1"),
            _f("right_channel", "channel", example="right_channel = 2"),
            _f("band_pct", "band", example="band_pct = [30, 60]"),
            _f("tolerance_pct", "float", positive=True, hi=1000, example="tolerance_pct = 10"),
            _f("hold_s", "float", positive=True, hi=600, example="hold_s = 3"),
            _f("dropout_tolerance_s", "float", 0.2, lo=0, hi=10),
        ],
        "protocol": _PROTOCOL + _WORK + _RELAX,
        "shaping": _SHAPING,
        "gating": _GATING,
    },
    "downtrain": {
        "": _TOP,
        "target": [
            _f("channel", "channel", example="channel = 2"),
            _f("max_pct", "float", positive=True, hi=1000, example="max_pct = 10"),
            _f("hold_s", "float", positive=True, hi=3600, example="hold_s = 10"),
            _f("dropout_tolerance_s", "float", 0.2, lo=0, hi=10),
        ],
        "protocol": _PROTOCOL + _WORK,
        "shaping": _SHAPING,
        "gating": _GATING,
    },
    "tracking": {
        "": _TOP,
        "target": [_f("channel", "channel", example="channel = 1")],
        "trajectory": [
            _f("shape", "choice", choices=("ramp", "trapezoid", "sine"), example='shape = "trapezoid"'),
            _f("low_pct", "float", 0.0, lo=0, hi=1000, example="low_pct = 5"),
            _f("high_pct", "float", positive=True, hi=1000, example="high_pct = 50"),
            _f("duration_s", "float", positive=True, hi=600, example="duration_s = 10"),
            _f("rise_s", "float", 0.0, lo=0, hi=600, example="rise_s = 2"),
            _f("period_s", "float", 0.0, lo=0, hi=600, example="period_s = 5"),
        ],
        "protocol": _PROTOCOL + [_f("success_flash_s", "float", 0.8, lo=0, hi=10)],
        "scoring": [_f("max_rms_error_pct", "float", 15.0, positive=True, hi=1000, example="max_rms_error_pct = 15")],
        "gating": _GATING,
    },
    "balance": {
        "": _TOP,
        "stance": [
            _f("hold_s", "float", positive=True, hi=600, example="hold_s = 20"),
            _f("channels", "channels", example="channels = [1, 2]"),
            _f("side", "choice", "left", choices=("left", "right"), example='side = "left"'),
            _f("level_pct", "float", 0.0, lo=0, hi=1000, example="level_pct = 20"),
        ],
        "protocol": _PROTOCOL + [_f("success_flash_s", "float", 0.8, lo=0, hi=10)],
        "scoring": [
            _f("max_sway_area_deg2", "float", 0.0, lo=0, hi=10000, example="max_sway_area_deg2 = 20"),
            _f("max_emg_cv_pct", "float", 0.0, lo=0, hi=1000, example="max_emg_cv_pct = 40"),
        ],
        "gating": _GATING,
    },
    "stretch": {
        "": _TOP,
        "target": [
            _f("channel", "channel", example="channel = 1"),
            _f("max_pct", "float", positive=True, hi=1000, example="max_pct = 8"),
            _f("hold_s", "float", positive=True, hi=600, example="hold_s = 30"),
            _f("tense_grace_s", "float", 0.3, lo=0, hi=10, example="tense_grace_s = 0.3"),
        ],
        "protocol": _PROTOCOL + [_f("success_flash_s", "float", 0.8, lo=0, hi=10)],
        "scoring": [_f("min_relaxed_fraction", "float", 0.9, lo=0, hi=1, example="min_relaxed_fraction = 0.9")],
        "gating": _GATING,
    },
    "assessment": {
        "": _TOP,
        "target": [
            _f("channel", "channel", example="channel = 1"),
            _f("band_pct", "band", (40.0, 80.0), example="band_pct = [40, 80]"),
            _f("rest_threshold_pct", "float", 10.0, lo=0, hi=100, example="rest_threshold_pct = 10"),
        ],
        "pre_baseline": [_f("duration_s", "float", 60.0, positive=True, hi=600, example="duration_s = 60")],
        "quick": [
            _f("reps", "int", 5, lo=1, hi=50, example="reps = 5"),
            _f("contract_s", "float", 2.0, positive=True, hi=10, example="contract_s = 2"),
            _f("rest_s", "float", 10.0, positive=True, hi=120, example="rest_s = 10"),
            _f("target_pct", "float", 100.0, positive=True, hi=MAX_BAND_PCT, example="target_pct = 100"),
        ],
        "holds": [
            _f("reps", "int", 10, lo=1, hi=50, example="reps = 10"),
            _f("work_s", "float", 10.0, positive=True, hi=120, example="work_s = 10"),
            _f("rest_s", "float", 10.0, positive=True, hi=120, example="rest_s = 10"),
        ],
        "endurance": [_f("duration_s", "float", 60.0, positive=True, hi=600, example="duration_s = 60")],
        "post_baseline": [_f("duration_s", "float", 60.0, positive=True, hi=600, example="duration_s = 60")],
        "scoring": [
            _f("exclude_s", "float", 1.0, lo=0, hi=10, example="exclude_s = 1"),
            _f("onset_fraction", "float", 0.75, positive=True, hi=1, example="onset_fraction = 0.75"),
            _f("release_fraction", "float", 0.375, positive=True, hi=1, example="release_fraction = 0.375"),
            _f("slow_s", "float", 2.0, positive=True, hi=60, example="slow_s = 2"),
            _f("in_band_fraction", "float", 0.7, positive=True, hi=1, example="in_band_fraction = 0.7"),
        ],
        "protocol": [_f("success_flash_s", "float", 0.8, lo=0, hi=10, example="success_flash_s = 0.8")],
        "gating": _GATING,
    },
    "awareness": {
        "": _TOP,
        "target": [
            _f("channel", "channel", example="channel = 1"),
            _f("levels_pct", "floats", example="levels_pct = [30, 50, 70]"),
            _f("aim_s", "float", 4.0, positive=True, hi=600, example="aim_s = 4"),
            _f("measure_s", "float", 2.0, positive=True, hi=600, example="measure_s = 2"),
            _f("estimate_timeout_s", "float", 10.0, positive=True, hi=600),
            _f("reveal_s", "float", 3.0, lo=0, hi=600, example="reveal_s = 3"),
            _f("tolerance_pct", "float", 10.0, positive=True, hi=1000, example="tolerance_pct = 10"),
        ],
        "blocks*": [
            _f("trials", "int", lo=1, hi=1000, example="trials = 6"),
            _f("feedback_every", "int", lo=0, hi=1000, example="feedback_every = 2"),
        ],
        "protocol": [_f("rest_s", "float", 3.0, lo=0, hi=3600), _f("start_delay_s", "float", 3.0, lo=0, hi=600)],
        "gating": _GATING,
    },
}

_KIND_WORDS = {
    "float": "a number",
    "int": "a whole number",
    "str": "a text in quotes",
    "bool": "true or false",
    "band": "a band [low, high] in % with low < high",
    "channel": "a channel number (1 = first input) or name",
    "channels": "a list of channel numbers or names",
    "floats": "a non-empty list of numbers",
    "choice": "one of",
    "flags": "a list of flag names from " + ", ".join(FLAG_BITS),
}


# --------------------------------------------------------------------------------------------
# Line numbers: tomllib gives none for values, so find each key's line in the text.

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def _index_lines(text: str) -> dict[tuple[str, int | None, str], int]:
    """Map (table, array index or None, key) -> 1-based line; key ``""`` is the table header line."""
    lines: dict[tuple[str, int | None, str], int] = {}
    table, index = "", None
    counts: dict[str, int] = {}
    in_multiline = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
            in_multiline = not in_multiline
            if not in_multiline:
                continue
            m = _KEY.match(line)
            if m:
                lines.setdefault((table, index, m.group(1).strip('"')), lineno)
            continue
        if in_multiline:
            continue
        h = _HEADER.match(line)
        if h:
            table = h.group(2).strip().strip('"')
            if h.group(1) == "[[":
                index = counts.get(table, 0)
                counts[table] = index + 1
            else:
                index = None
            lines.setdefault((table, index, ""), lineno)
            continue
        m = _KEY.match(line)
        if m:
            lines.setdefault((table, index, m.group(1).strip('"')), lineno)
    return lines


@dataclass
class DrillConfig:
    """A validated drill file.

    ``params[table][key]`` holds every field of the kind's schema, defaults filled in
    (``params[""]`` is the top level, ``params["blocks"]`` a list of dicts for array tables).
    """

    kind: str
    name: str
    description: str
    params: dict[str, Any]
    path: Path | None = None
    text: str = ""
    _lines: dict[tuple[str, int | None, str], int] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> dict[str, Any]:
        return self.params[name]

    def line_of(self, table: str, key: str = "", index: int | None = None) -> int | None:
        """1-based line of ``key`` in ``[table]`` (or of the table header), None when absent."""
        return self._lines.get((table, index, key)) or self._lines.get((table, index, ""))

    def error(self, table: str, key: str, problem: str, fix: str, index: int | None = None) -> DrillConfigError:
        """A :class:`DrillConfigError` naming the file, line and field."""
        return DrillConfigError(_message(self.path, self.line_of(table, key, index), table, key, problem, fix, index))

    def resolve_channel(
        self, table: str, key: str, channel_names: list[str] | None, n_channels: int, value: Any = None
    ) -> int:
        """Turn a file's channel (1-based number or name) into a 0-based index for this session."""
        value = self.params[table][key] if value is None else value
        if isinstance(value, str):
            names = [str(n).lower() for n in (channel_names or [])]
            if value.lower() in names:
                return names.index(value.lower())
            raise self.error(
                table,
                key,
                f"names channel {value!r}, which this session does not have "
                f"(channels: {', '.join(channel_names or []) or 'unnamed'})",
                "use a channel number (1 = first input) or one of those names",
            )
        if not 1 <= int(value) <= n_channels:
            raise self.error(
                table,
                key,
                f"is channel {value}, but this session has {n_channels} channels",
                f"use a channel from 1 to {n_channels}",
            )
        return int(value) - 1

    def describe(self) -> str:
        """One line saying what the drill asks, e.g. ``"ch 1 in 30-50 % for 3 s; 8 reps x 2 sets"``."""
        p = self.params

        def ch(v: Any) -> str:
            return f"ch {v}" if isinstance(v, int) else str(v)

        t = p.get("target", {})
        proto = p.get("protocol", {})
        reps = f"{proto.get('reps', 0)} reps x {proto.get('sets', 1)} sets" if "reps" in proto else ""
        k = self.kind
        if k == "reach_hold":
            what = f"{ch(t['channel'])} in {t['band_pct'][0]:g}-{t['band_pct'][1]:g} % for {t['hold_s']:g} s"
        elif k == "isolation":
            q = p["quiet"]
            what = (
                f"{ch(t['channel'])} in {t['band_pct'][0]:g}-{t['band_pct'][1]:g} % for {t['hold_s']:g} s "
                f"with {ch(q['channel'])} below {q['max_pct']:g} %"
            )
        elif k == "symmetry":
            what = (
                f"{ch(t['left_channel'])} and {ch(t['right_channel'])} in {t['band_pct'][0]:g}-"
                f"{t['band_pct'][1]:g} % within {t['tolerance_pct']:g} % for {t['hold_s']:g} s"
            )
        elif k == "downtrain":
            what = f"{ch(t['channel'])} below {t['max_pct']:g} % for {t['hold_s']:g} s"
        elif k == "tracking":
            tr = p["trajectory"]
            what = (
                f"{ch(t['channel'])} follows a {tr['shape']} {tr['low_pct']:g}-{tr['high_pct']:g} % over "
                f"{tr['duration_s']:g} s"
            )
        elif k == "balance":
            st = p["stance"]
            what = f"{st['side']} leg stance {st['hold_s']:g} s, ankle {', '.join(ch(c) for c in st['channels'])}"
        elif k == "stretch":
            what = f"stretch {t['hold_s']:g} s with {ch(t['channel'])} below {t['max_pct']:g} %"
        elif k == "assessment":
            q, h = p["quick"], p["holds"]
            what = (
                f"{ch(t['channel'])}: rest {p['pre_baseline']['duration_s']:g} s, {q['reps']} quick contractions, "
                f"{h['reps']} x ({h['work_s']:g} s hold in {t['band_pct'][0]:g}-{t['band_pct'][1]:g} % / "
                f"{h['rest_s']:g} s rest), endurance {p['endurance']['duration_s']:g} s, "
                f"rest {p['post_baseline']['duration_s']:g} s"
            )
            reps = ""
        else:
            n = sum(b["trials"] for b in p["blocks"])
            what = (
                f"{ch(t['channel'])} blind aim at {', '.join(f'{x:g}' for x in t['levels_pct'])} %, "
                f"{n} trials in {len(p['blocks'])} blocks"
            )
            reps = ""
        return f"{what}; {reps}" if reps else what

    def to_dict(self) -> dict[str, Any]:
        """The validated parameters (JSON types) plus the file path, for the recording's sidecar."""
        from feedback.events import jsonable

        return jsonable(
            {"kind": self.kind, "name": self.name, "path": str(self.path) if self.path else None, "params": self.params}
        )


def _message(
    path: Path | None, line: int | None, table: str, key: str, problem: str, fix: str, index: int | None = None
) -> str:
    where = f"drill file {str(path) if path else '<text>'}"
    if line:
        where += f", line {line}"
    tname = f"[[{table}]] #{index + 1}" if index is not None else (f"[{table}]" if table else "")
    fieldname = f"{tname} {key}".strip() if key else tname or "file"
    return f"{where}: {fieldname} {problem}; {fix}"


def _check_value(spec: FieldSpec, value: Any) -> tuple[Any, str | None]:
    """Return (normalised value, problem or None)."""
    k = spec.kind

    def number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def in_range(v: float) -> str | None:
        if v != v:
            return "is nan"
        if spec.positive and not v > 0:
            return f"must be > 0 (got {v})"
        if spec.lo is not None and v < spec.lo:
            return f"must be >= {spec.lo:g} (got {v})"
        if spec.hi is not None and v > spec.hi:
            return f"must be <= {spec.hi:g} (got {v})"
        return None

    def channel(v: Any) -> str | None:
        if isinstance(v, str) and v.strip():
            return None
        if isinstance(v, int) and not isinstance(v, bool):
            if v < 1:
                return f"must be a channel number from 1 to {MAX_CHANNEL} (got {v}; 1 is the first input)"
            if v > MAX_CHANNEL:
                return (
                    f"must be a channel number from 1 to {MAX_CHANNEL} (got {v}; "
                    f"the largest board has {MAX_CHANNEL} inputs)"
                )
            return None
        return f"must be {_KIND_WORDS['channel']} (got {value!r})"

    if k == "float":
        if not number(value):
            return value, f"must be {_KIND_WORDS[k]} (got {value!r})"
        return float(value), in_range(float(value))
    if k == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            return value, f"must be {_KIND_WORDS[k]} (got {value!r})"
        return value, in_range(value)
    if k == "str":
        return (value, None) if isinstance(value, str) else (value, f"must be {_KIND_WORDS[k]} (got {value!r})")
    if k == "bool":
        return (value, None) if isinstance(value, bool) else (value, f"must be true or false (got {value!r})")
    if k == "choice":
        if value not in spec.choices:
            return value, f"must be one of {', '.join(repr(c) for c in spec.choices)} (got {value!r})"
        return value, None
    if k == "band":
        if not (isinstance(value, list) and len(value) == 2 and all(number(v) for v in value)):
            return value, f"must be {_KIND_WORDS[k]} (got {value!r})"
        lo, hi = float(value[0]), float(value[1])
        if not 0 <= lo < hi <= MAX_BAND_PCT:
            return value, (
                f"must have 0 <= low < high <= {MAX_BAND_PCT:g} (got [{lo:g}, {hi:g}]; "
                f"above {MAX_BAND_PCT:g} % of the reference is not a target)"
            )
        return (lo, hi), None
    if k == "channel":
        return value, channel(value)
    if k == "channels":
        if not isinstance(value, list) or not value:
            return value, f"must be {_KIND_WORDS[k]} (got {value!r})"
        for v in value:
            problem = channel(v)
            if problem:
                return value, problem
        return tuple(value), None
    if k == "floats":
        if not isinstance(value, list) or not value or not all(number(v) for v in value):
            return value, f"must be {_KIND_WORDS[k]} (got {value!r})"
        for v in value:
            if not 0 <= v <= 1000:
                return value, f"values must be between 0 and 1000 % (got {v})"
        return tuple(float(v) for v in value), None
    if k == "flags":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return value, f"must be {_KIND_WORDS[k]} (got {value!r})"
        bad = [v for v in value if v.lower() not in FLAG_BITS]
        if bad:
            return value, f"has unknown flag {bad[0]!r}; known: {', '.join(FLAG_BITS)}"
        return tuple(v.lower() for v in value), None
    raise AssertionError(k)


def _example(spec: FieldSpec) -> str:
    if spec.example:
        return f"write e.g. {spec.example}"
    if spec.kind == "choice":
        return f"write e.g. {spec.key} = {spec.choices[0]!r}"
    return f"write {spec.key} = <{_KIND_WORDS.get(spec.kind, spec.kind)}>"


def parse_drill(text: str, path: Path | None = None) -> DrillConfig:
    """Validate drill TOML ``text``; raise :class:`DrillConfigError` naming the field and line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DrillConfigError(
            f"drill file {path or '<text>'} is not valid TOML: {err}; "
            "fix the syntax at that line (strings need quotes, lists use [a, b])"
        ) from None
    return validate_drill(raw, path=path, text=text)


def config_from_dict(data: dict[str, Any]) -> DrillConfig:
    """Rebuild a :class:`DrillConfig` from :meth:`DrillConfig.to_dict` (e.g. a recording's sidecar
    ``drill`` entry), validating it again, so a recorded drill can be replayed without its file."""
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
        raise DrillConfigError(
            "recorded drill has no 'params' table; it was not written by DrillConfig.to_dict "
            "(re-run the analysis with the drill file instead)"
        )
    params = data["params"]
    raw: dict[str, Any] = dict(params.get("", {}))
    for table, values in params.items():
        if table:
            raw[table] = values
    path = Path(data["path"]) if data.get("path") else None
    return validate_drill(_lists(raw), path=path, text="")


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def validate_drill(raw: dict[str, Any], *, path: Path | None = None, text: str = "") -> DrillConfig:
    """Validate a parsed drill (the dict TOML gives); errors name the field (and its line when ``text`` is given)."""
    lines = _index_lines(text)

    def fail(table: str, key: str, problem: str, fix: str, index: int | None = None) -> DrillConfigError:
        line = lines.get((table, index, key)) or lines.get((table, index, ""))
        return DrillConfigError(_message(path, line, table, key, problem, fix, index))

    kind = raw.get("kind")
    if kind is None:
        raise fail("", "kind", "is missing", f'add a first line kind = "reach_hold" (one of {", ".join(KINDS)})')
    if kind not in SCHEMAS:
        near = difflib.get_close_matches(str(kind), KINDS, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise fail("", "kind", f"is {kind!r}, not a drill kind", f"{hint}use one of {', '.join(KINDS)}")
    schema = SCHEMAS[kind]
    tables = {t.rstrip("*"): t for t in schema}
    params: dict[str, Any] = {}

    def validate_table(tname: str, specs: list[FieldSpec], data: Any, index: int | None) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise fail(tname, "", f"must be a table [{tname}]", f"write [{tname}] on its own line", index)
        out: dict[str, Any] = {}
        known = {s.key: s for s in specs}
        for key, value in data.items():
            if tname == "" and isinstance(value, (dict, list)) and key in tables:
                continue
            if key not in known:
                near = difflib.get_close_matches(key, list(known), n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known fields: {', '.join(known)}"
                what = "top-level field" if tname == "" else "field"
                raise fail(tname, key, f"is an unknown {what} for kind {kind!r}", hint, index)
        for spec in specs:
            if spec.key not in data:
                if spec.default is REQUIRED:
                    where = f"[{tname}]" if tname else "the top of the file"
                    raise fail(
                        tname,
                        spec.key,
                        f"is missing (required for kind {kind!r})",
                        f"add it under {where}: {_example(spec)}",
                        index,
                    )
                out[spec.key] = spec.default
                continue
            value, problem = _check_value(spec, data[spec.key])
            if problem:
                raise fail(tname, spec.key, problem, _example(spec), index)
            out[spec.key] = value
        return out

    for key, value in raw.items():
        if isinstance(value, (dict, list)) and key not in tables and not isinstance(value, list):
            near = difflib.get_close_matches(key, [t for t in tables if t], n=1)
            hint = f"did you mean [{near[0]}]?" if near else f"tables for {kind!r}: {', '.join(t for t in tables if t)}"
            raise fail(key, "", f"is not a table that kind {kind!r} uses", hint)
    for tname, schema_name in tables.items():
        specs = schema[schema_name]
        if schema_name.endswith("*"):
            items = raw.get(tname)
            if items is None:
                raise fail(
                    "",
                    "",
                    f"has no [[{tname}]] tables (kind {kind!r} needs at least one)",
                    f"add e.g. [[{tname}]] with " + ", ".join(s.example or s.key for s in specs),
                )
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise fail(tname, "", f"must be written as [[{tname}]] tables", f"use [[{tname}]] headers")
            params[tname] = [validate_table(tname, specs, item, i) for i, item in enumerate(items)]
        elif tname == "":
            params[""] = validate_table(
                "", specs, {k: v for k, v in raw.items() if not (isinstance(v, (dict, list)) and k in tables)}, None
            )
        else:
            if tname not in raw and any(spec.default is REQUIRED for spec in specs):
                needed = [spec for spec in specs if spec.default is REQUIRED]
                n_lines = len(text.splitlines())
                where = f"after line {n_lines}" if n_lines else "to the file"
                raise DrillConfigError(
                    f"drill file {path or '<text>'}: table [{tname}] is missing (kind {kind!r} needs it); add "
                    f"{where}: [{tname}] with " + ", ".join(s.example or s.key for s in needed)
                )
            data = raw.get(tname, {})
            params[tname] = validate_table(tname, specs, data, None)

    cfg = DrillConfig(
        kind=kind,
        name=params[""]["name"],
        description=params[""]["description"],
        params=params,
        path=path,
        text=text,
        _lines=lines,
    )
    _cross_checks(cfg)
    return cfg


def _cross_checks(cfg: DrillConfig) -> None:
    """Checks that involve more than one field."""
    p = cfg.params
    sh = p.get("shaping")
    if sh is not None and sh["min_pct"] >= sh["max_pct"]:
        raise cfg.error(
            "shaping",
            "min_pct",
            f"({sh['min_pct']:g}) must be below max_pct ({sh['max_pct']:g})",
            "lower min_pct or raise max_pct",
        )
    if cfg.kind in ("reach_hold", "isolation", "symmetry"):
        band = p["target"]["band_pct"]
        rest = p["protocol"]["rest_threshold_pct"]
        if rest >= band[0]:
            raise cfg.error(
                "protocol",
                "rest_threshold_pct",
                f"({rest:g}) must be below the band's low edge ({band[0]:g})",
                "lower rest_threshold_pct or raise band_pct",
            )
        if p["target"]["hold_s"] > p["protocol"]["work_s"]:
            raise cfg.error(
                "protocol",
                "work_s",
                f"({p['protocol']['work_s']:g} s) is shorter than the hold "
                f"({p['target']['hold_s']:g} s), so no rep could succeed",
                "make work_s >= hold_s",
            )
    if cfg.kind == "downtrain" and p["target"]["hold_s"] > p["protocol"]["work_s"]:
        raise cfg.error(
            "protocol",
            "work_s",
            f"({p['protocol']['work_s']:g} s) is shorter than the hold "
            f"({p['target']['hold_s']:g} s), so no rep could succeed",
            "make work_s >= hold_s",
        )
    if cfg.kind == "tracking":
        tr = p["trajectory"]
        if tr["low_pct"] >= tr["high_pct"]:
            raise cfg.error(
                "trajectory",
                "low_pct",
                f"({tr['low_pct']:g}) must be below high_pct ({tr['high_pct']:g})",
                "swap or fix the levels",
            )
        if tr["shape"] == "trapezoid" and 2 * tr["rise_s"] >= tr["duration_s"]:
            raise cfg.error(
                "trajectory",
                "rise_s",
                f"({tr['rise_s']:g} s) leaves no plateau in a {tr['duration_s']:g} s trapezoid",
                "make 2 * rise_s < duration_s (or rise_s = 0 for a third each)",
            )
    if cfg.kind == "assessment":
        t, sc = p["target"], p["scoring"]
        if t["rest_threshold_pct"] >= t["band_pct"][0]:
            raise cfg.error(
                "target",
                "rest_threshold_pct",
                f"({t['rest_threshold_pct']:g}) must be below the band's low edge ({t['band_pct'][0]:g})",
                "lower rest_threshold_pct or raise band_pct",
            )
        shortest = min(p["holds"]["work_s"], p["holds"]["rest_s"], p["quick"]["rest_s"])
        for table in ("pre_baseline", "endurance", "post_baseline"):
            shortest = min(shortest, p[table]["duration_s"])
        if sc["exclude_s"] >= shortest:
            raise cfg.error(
                "scoring",
                "exclude_s",
                f"({sc['exclude_s']:g} s) leaves nothing of the shortest phase ({shortest:g} s) to measure",
                "lower exclude_s or lengthen the phases",
            )
        if sc["release_fraction"] >= sc["onset_fraction"]:
            raise cfg.error(
                "scoring",
                "release_fraction",
                f"({sc['release_fraction']:g}) must be below onset_fraction ({sc['onset_fraction']:g})",
                "keep the release level under the onset level (defaults 0.375 and 0.75)",
            )
    if cfg.kind == "awareness":
        t = p["target"]
        if t["measure_s"] > t["aim_s"]:
            raise cfg.error(
                "target",
                "measure_s",
                f"({t['measure_s']:g} s) is longer than aim_s ({t['aim_s']:g} s)",
                "make measure_s <= aim_s",
            )


def load_drill(path: str | Path) -> DrillConfig:
    """Read and validate a drill file; :class:`DrillConfigError` on a missing file or a bad field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DrillConfigError(
            f"drill file {p} not found; check the path or run `emg drills` to list the shipped drills"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise DrillConfigError(
            f"drill file {p} cannot be read ({err.__class__.__name__}: {err}); "
            "check it is a UTF-8 text file you may read"
        ) from None
    return parse_drill(text, p)
