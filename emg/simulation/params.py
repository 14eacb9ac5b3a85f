"""Parameters of the simulated patient and of a simulation run, with validation and TOML loading.

Everything a clinician or researcher can set lives in plain dataclasses here:

- :class:`MuscleParams`: one muscle under one bipolar channel (reference amplitude, noise floor,
  spectrum, crosstalk into neighbouring channels, co-contraction with another muscle).
- :class:`ResponseParams`: how the patient answers a cue (reaction time, rise time, overshoot,
  undershoot, steadiness, relaxation, ceiling).
- :class:`FatigueParams`, :class:`TremorParams`, :class:`SessionParams`, :class:`AccelParams`.
- :class:`PatientPreset`: all of the above, loaded from ``presets/*.toml`` or a custom file.

Activation is a fraction of the muscle's *reference*: 1.0 means the EMG RMS equals
``reference_uv`` (100 % of reference). Every bad value raises :class:`emg.errors.ConfigError`
with one line naming the parameter, its value and what is allowed.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emg.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

#: lowest output or generation rate accepted (EMG needs at least this to mean anything)
MIN_FS_HZ = 100.0


def check_range(
    where: str,
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}{name} = {value!r} is not a number") from None
    if not math.isfinite(v):
        raise ConfigError(f"{where}{name} = {value!r} must be a finite number")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        op = ">" if lo_open else ">="
        raise ConfigError(f"{where}{name} = {value!r} is impossible; it must be {op} {lo:g}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        op = "<" if hi_open else "<="
        raise ConfigError(f"{where}{name} = {value!r} is impossible; it must be {op} {hi:g}")
    return v


@dataclass
class MuscleParams:
    """One muscle recorded by one bipolar channel.

    ``reference_uv``: EMG RMS (uV) at activation 1.0 (100 % of reference), at the electrodes, unaliased.
    ``noise_floor_uv``: RMS (uV) of the amplifier and electrode noise at the board's output rate.
    ``median_hz``: median frequency of the unfatigued EMG spectrum; ``band_hz``: its (low, high) edges.
    ``crosstalk``: fraction of this muscle's EMG that appears on each neighbouring channel.
    ``follows``/``cocontraction``: this muscle is driven at ``cocontraction`` x the drive of muscle
    ``follows`` (an antagonist co-contracting); ``relax_time_s``/``reaction_time_s`` override the
    patient's for this muscle (e.g. an overactive antagonist slow to relax).
    ``rest_activation``: resting tone, fraction of reference (None: the patient's).
    ``ecg_uv``: R-peak amplitude of the ECG this channel picks up (trunk muscles), 0 for none.
    """

    name: str = "muscle"
    reference_uv: float = 300.0
    noise_floor_uv: float = 2.0
    median_hz: float = 85.0
    band_hz: tuple[float, float] = (20.0, 450.0)
    crosstalk: float = 0.0
    follows: int | None = None
    cocontraction: float = 0.0
    relax_time_s: float | None = None
    reaction_time_s: float | None = None
    rest_activation: float | None = None
    ecg_uv: float = 0.0

    def validate(self, where: str = "") -> MuscleParams:
        w = f"{where}muscle {self.name!r}: "
        check_range(w, "reference_uv", self.reference_uv, 0.0, 1e5, lo_open=True)
        check_range(w, "noise_floor_uv", self.noise_floor_uv, 0.0, 1e4)
        lo = check_range(w, "band_hz[0]", self.band_hz[0], 0.0)
        hi = check_range(w, "band_hz[1]", self.band_hz[1], 0.0, lo_open=True)
        if hi <= lo:
            raise ConfigError(
                f"{w}band_hz = {list(self.band_hz)} is impossible; the high edge must be above the low edge"
            )
        check_range(w, "median_hz", self.median_hz, max(5.0, lo), hi, lo_open=True, hi_open=True)
        check_range(w, "crosstalk", self.crosstalk, 0.0, 0.9)
        check_range(w, "cocontraction", self.cocontraction, 0.0, 2.0)
        check_range(w, "ecg_uv", self.ecg_uv, 0.0, 1e4)
        if self.relax_time_s is not None:
            check_range(w, "relax_time_s", self.relax_time_s, 0.0, 60.0, lo_open=True)
        if self.reaction_time_s is not None:
            check_range(w, "reaction_time_s", self.reaction_time_s, 0.0, 10.0)
        if self.rest_activation is not None:
            check_range(w, "rest_activation", self.rest_activation, 0.0, 0.5)
        return self


@dataclass
class ResponseParams:
    """How the patient answers a cue (all times in seconds; fractions of reference)."""

    reaction_time_s: float = 0.22
    reaction_jitter_s: float = 0.03
    rise_time_s: float = 0.25  # 10-90 % of the step
    overshoot_pct: float = 4.0  # transient peak above the aim, % of the step
    undershoot_pct: float = 0.0  # steady shortfall below the target, % of the target
    steadiness_pct: float = 3.0  # SD of the slow wander while active, % of the level
    relax_time_s: float = 0.12  # time constant of relaxation
    ceiling: float = 1.0  # largest activation the muscle can produce
    rest_activation: float = 0.01  # resting tone
    feedback_gain_per_s: float = (
        0.8  # how fast the patient corrects its effort from the displayed level (0: ignores it)
    )

    def validate(self, where: str = "") -> ResponseParams:
        w = f"{where}response."
        check_range(w, "reaction_time_s", self.reaction_time_s, 0.0, 10.0)
        check_range(w, "reaction_jitter_s", self.reaction_jitter_s, 0.0, 2.0)
        check_range(w, "rise_time_s", self.rise_time_s, 0.005, 20.0)
        check_range(w, "overshoot_pct", self.overshoot_pct, 0.0, 80.0)
        check_range(w, "undershoot_pct", self.undershoot_pct, 0.0, 90.0)
        check_range(w, "steadiness_pct", self.steadiness_pct, 0.0, 50.0)
        check_range(w, "relax_time_s", self.relax_time_s, 0.0, 60.0, lo_open=True)
        check_range(w, "ceiling", self.ceiling, 0.0, 3.0, lo_open=True)
        check_range(w, "rest_activation", self.rest_activation, 0.0, 0.5)
        check_range(w, "feedback_gain_per_s", self.feedback_gain_per_s, 0.0, 20.0)
        if self.rest_activation >= self.ceiling:
            raise ConfigError(f"{w}rest_activation = {self.rest_activation} must be below the ceiling ({self.ceiling})")
        return self


@dataclass
class FatigueParams:
    """Fatigue during sustained contraction.

    While a muscle is active at ``reference_activation`` its median frequency falls by
    ``median_rate_hz_per_s`` and its EMG amplitude (for the same drive) grows by
    ``amplitude_rate_pct_per_s``; the rates scale with activation / ``reference_activation``.
    The ceiling falls by ``capacity_loss_pct_per_min`` per minute of such contraction. At rest
    fatigue recovers with time constant ``recovery_time_s``. The median frequency never falls
    below ``min_median_fraction`` of its fresh value.
    """

    enabled: bool = True
    median_rate_hz_per_s: float = 0.15
    amplitude_rate_pct_per_s: float = 0.2
    capacity_loss_pct_per_min: float = 3.0
    recovery_time_s: float = 60.0
    reference_activation: float = 0.5
    min_median_fraction: float = 0.45

    def validate(self, where: str = "") -> FatigueParams:
        w = f"{where}fatigue."
        check_range(w, "median_rate_hz_per_s", self.median_rate_hz_per_s, 0.0, 20.0)
        check_range(w, "amplitude_rate_pct_per_s", self.amplitude_rate_pct_per_s, -5.0, 20.0)
        check_range(w, "capacity_loss_pct_per_min", self.capacity_loss_pct_per_min, 0.0, 100.0)
        check_range(w, "recovery_time_s", self.recovery_time_s, 0.0, 1e5, lo_open=True)
        check_range(w, "reference_activation", self.reference_activation, 0.0, 3.0, lo_open=True)
        check_range(w, "min_median_fraction", self.min_median_fraction, 0.1, 1.0)
        return self


@dataclass
class TremorParams:
    """Tremor: the drive of active muscles is modulated at ``frequency_hz`` with ``depth`` (0-1)."""

    enabled: bool = False
    frequency_hz: float = 9.0
    depth: float = 0.3

    def validate(self, where: str = "") -> TremorParams:
        w = f"{where}tremor."
        check_range(w, "frequency_hz", self.frequency_hz, 1.0, 25.0)
        check_range(w, "depth", self.depth, 0.0, 1.0)
        return self


@dataclass
class SessionParams:
    """Session-to-session change: session k (0 = the first) has these added k times."""

    ceiling_change_per_session: float = 0.0
    max_ceiling: float = 1.0
    reaction_time_change_s_per_session: float = 0.0
    relax_time_change_s_per_session: float = 0.0
    rise_time_change_s_per_session: float = 0.0

    def validate(self, where: str = "") -> SessionParams:
        w = f"{where}session."
        check_range(w, "ceiling_change_per_session", self.ceiling_change_per_session, -0.5, 0.5)
        check_range(w, "max_ceiling", self.max_ceiling, 0.0, 3.0, lo_open=True)
        check_range(w, "reaction_time_change_s_per_session", self.reaction_time_change_s_per_session, -1.0, 1.0)
        check_range(w, "relax_time_change_s_per_session", self.relax_time_change_s_per_session, -5.0, 5.0)
        check_range(w, "rise_time_change_s_per_session", self.rise_time_change_s_per_session, -2.0, 2.0)
        return self


@dataclass
class AccelParams:
    """The board's accelerometer: gravity vector (g), postural sway (SD in g, bandwidth in Hz), noise."""

    gravity_g: tuple[float, float, float] = (0.0, 0.0, 1.0)
    sway_g: float = 0.004
    sway_hz: float = 0.5
    noise_g: float = 0.002

    def validate(self, where: str = "") -> AccelParams:
        w = f"{where}accel."
        if len(self.gravity_g) != 3:
            raise ConfigError(f"{w}gravity_g = {list(self.gravity_g)} must have 3 values (x, y, z in g)")
        for i, g in enumerate(self.gravity_g):
            check_range(w, f"gravity_g[{i}]", g, -4.0, 4.0)
        check_range(w, "sway_g", self.sway_g, 0.0, 2.0)
        check_range(w, "sway_hz", self.sway_hz, 0.01, 10.0)
        check_range(w, "noise_g", self.noise_g, 0.0, 1.0)
        return self


@dataclass
class PatientPreset:
    """A simulated patient: muscles (channel order) and behaviour."""

    name: str = "custom"
    description: str = ""
    muscles: list[MuscleParams] = field(default_factory=lambda: [MuscleParams()])
    response: ResponseParams = field(default_factory=ResponseParams)
    fatigue: FatigueParams = field(default_factory=FatigueParams)
    tremor: TremorParams = field(default_factory=TremorParams)
    session: SessionParams = field(default_factory=SessionParams)
    accel: AccelParams = field(default_factory=AccelParams)
    source: str = ""  # file it was loaded from

    def validate(self) -> PatientPreset:
        where = f"patient {self.name!r}: "
        if not self.muscles:
            raise ConfigError(f"{where}no [[muscles]]; give at least one muscle")
        if len(self.muscles) > 16:
            raise ConfigError(f"{where}{len(self.muscles)} muscles; at most 16 channels are supported")
        for i, m in enumerate(self.muscles):
            m.validate(where)
            if m.follows is not None:
                if not isinstance(m.follows, int) or not 0 <= m.follows < len(self.muscles) or m.follows == i:
                    raise ConfigError(
                        f"{where}muscle {m.name!r}: follows = {m.follows!r} must be the 0-based index "
                        f"of another muscle (0-{len(self.muscles) - 1})"
                    )
        self.response.validate(where)
        self.fatigue.validate(where)
        self.tremor.validate(where)
        self.session.validate(where)
        self.accel.validate(where)
        return self

    def for_session(self, session: int) -> PatientPreset:
        """This patient at session ``session`` (0 = as configured), with the session-to-session change applied."""
        if session < 0:
            raise ConfigError(f"session = {session} is impossible; it must be >= 0")
        if session == 0:
            return self
        s = self.session
        r = self.response
        ceiling = r.ceiling + session * s.ceiling_change_per_session
        if s.ceiling_change_per_session > 0:  # recovering: up to max_ceiling
            ceiling = min(ceiling, max(s.max_ceiling, r.ceiling))
        ceiling = max(ceiling, r.rest_activation + 0.02)
        resp = replace(
            r,
            ceiling=ceiling,
            reaction_time_s=max(0.08, r.reaction_time_s + session * s.reaction_time_change_s_per_session),
            relax_time_s=max(0.03, r.relax_time_s + session * s.relax_time_change_s_per_session),
            rise_time_s=max(0.05, r.rise_time_s + session * s.rise_time_change_s_per_session),
        )
        return replace(self, response=resp)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (for the sidecar's ground truth)."""
        d = asdict(self)
        for m in d["muscles"]:
            m["band_hz"] = list(m["band_hz"])
        d["accel"]["gravity_g"] = list(d["accel"]["gravity_g"])
        return d


# ----------------------------------------------------------------------------------------- TOML


def _build(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table, not {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(known)}")
    kwargs = {}
    for k, v in data.items():
        if k in ("band_hz", "gravity_g"):
            if not isinstance(v, (list, tuple)):
                raise ConfigError(f"{where}.{k} = {v!r} must be a list of numbers")
            v = tuple(float(x) if isinstance(x, (int, float)) else x for x in v)
        kwargs[k] = v
    return cls(**kwargs)


def preset_from_dict(data: dict[str, Any], *, name: str = "custom", source: str = "") -> PatientPreset:
    """A validated :class:`PatientPreset` from the TOML structure (see ``presets/*.toml``)."""
    allowed = {"name", "description", "muscles", "response", "fatigue", "tremor", "session", "accel"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"patient {name!r}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
    muscles_raw = data.get("muscles", [])
    if not isinstance(muscles_raw, list):
        raise ConfigError(f"patient {name!r}: muscles must be an array of tables ([[muscles]])")
    pname = str(data.get("name", name))
    preset = PatientPreset(
        name=pname,
        description=str(data.get("description", "")),
        muscles=[_build(MuscleParams, m, f"patient {pname!r}: muscles[{i}]") for i, m in enumerate(muscles_raw)],
        response=_build(ResponseParams, data.get("response"), f"patient {pname!r}: [response]"),
        fatigue=_build(FatigueParams, data.get("fatigue"), f"patient {pname!r}: [fatigue]"),
        tremor=_build(TremorParams, data.get("tremor"), f"patient {pname!r}: [tremor]"),
        session=_build(SessionParams, data.get("session"), f"patient {pname!r}: [session]"),
        accel=_build(AccelParams, data.get("accel"), f"patient {pname!r}: [accel]"),
        source=source,
    )
    try:
        return preset.validate()
    except TypeError as err:  # e.g. a string where a number belongs
        raise ConfigError(f"patient {pname!r}: {err}") from None


def read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{what} file {str(path)!r} does not exist; check the path") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{what} file {str(path)!r} is not valid TOML ({err}); fix the file") from None
    except OSError as err:
        raise ConfigError(f"{what} file {str(path)!r} cannot be read ({err.strerror})") from None


def list_presets() -> list[str]:
    """Names of the shipped patient presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or "\\" in name


def load_preset(name_or_path: str | Path | PatientPreset) -> PatientPreset:
    """A shipped preset by name (``healthy``, ``post_op_quadriceps``, ...) or a custom TOML file."""
    if isinstance(name_or_path, PatientPreset):
        return name_or_path.validate()
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or looks_like_path(text):
        path = Path(text)
        return preset_from_dict(read_toml(path, "patient preset"), name=path.stem, source=str(path))
    key = text.strip().lower().replace("-", "_")
    path = PRESET_DIR / f"{key}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown patient preset {text!r}; use one of: {', '.join(list_presets())} or the path of a .toml file"
        )
    return preset_from_dict(read_toml(path, "patient preset"), name=key, source=str(path))
