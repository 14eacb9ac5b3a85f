"""The demo: a whole biofeedback session with no hardware, for any drill.

The simulated patient (:class:`emg.simulation.source.PatientSource`) streams through the virtual Cyton on a
pseudo-terminal, which BrainFlow's real Cyton driver reads; the session calibrates (rest, then reference
contractions, best of N), then runs the drill (``reach_hold_demo`` unless another is named) with the live view,
recording everything. Headless, it writes the recording, the summary JSON and a PNG of the final frame.

Which patient (:func:`demo_plan`): chosen from the drill's kind, and checked against the channels the drill
names. Symmetry drills get both quadriceps (left and right vastus medialis), down-training an overactive upper
trapezius, balance the unstable-balance patient (its accelerometer sways); every other kind the post-operative
quadriceps (vastus medialis, then biceps femoris: quadriceps targets on channel 1, hamstrings on channel 2).
The montage is the patient's muscles in order, one per board channel.

The patient follows the drill's cues. A real patient closes the loop through the display: asked for 45 % of
their reference contraction they aim for 45 % of what they produced in it. The simulated patient aims for a
fraction of its own model reference instead, so :class:`PatientCueAdapter` passes calibration cues unchanged
(the reference contraction is "as hard as you can") and scales the drill's targets by the effort the patient
gave in the reference contraction (its ceiling), which is what the patient's own perception does. Asked for an
estimate (awareness drills), the patient answers a moment later with its own, imperfect, judgement of the level
(:meth:`PatientSource.estimate_pct`), through the same path as digits + Enter on the keyboard
(:meth:`emg.live.session.Session.enter_estimate`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from emg.live.reporting import SessionResult
    from emg.live.session import Session
    from emg.simulation.source import PatientSource
    from feedback.drill_config import DrillConfig
    from feedback.events import DrillEvent
    from feedback.state import Cue

log = logging.getLogger(__name__)

DEMO_DRILL = "reach_hold_demo"
#: calibration for the demo: short but complete (rest baseline, best of 2 reference contractions)
DEMO_CALIBRATION = {"prepare_s": 1.0, "rest_s": 2.0, "contraction_s": 1.5, "n_contractions": 2, "between_s": 1.0}
DEMO_SEED = 7
#: the simulated patient for a drill kind (presets in emg/simulation/presets/); other kinds: DEFAULT_DEMO_PATIENT
DEMO_PATIENT_BY_KIND = {
    "symmetry": "quadriceps_left_right",
    "downtrain": "upper_trapezius_overactive",
    "balance": "unstable_balance",
}
DEFAULT_DEMO_PATIENT = "post_op_quadriceps"
#: seconds from an awareness drill's question to the simulated patient's answer (mean, SD)
ESTIMATE_DELAY_S = (1.2, 0.3)


@dataclass
class DemoPlan:
    """What the demo runs: the drill (reps applied), the simulated patient and the muscles, one per channel."""

    config: DrillConfig
    patient: str
    muscles: list[str]

    def headline(self) -> str:
        """``"calibration, then <drill name>: <description>"``."""
        what = self.config.description or self.config.describe()
        return f"calibration, then {self.config.name}: {what}"


def drill_channels(config: DrillConfig) -> tuple[int, list[str]]:
    """(highest channel number, channel names) the drill file names, over all its tables."""
    highest, names = 0, []

    def take(value: Any) -> None:
        nonlocal highest
        if isinstance(value, bool):
            return
        if isinstance(value, int):
            highest = max(highest, value)
        elif isinstance(value, str):
            names.append(value)

    for table in config.params.values():
        rows = table if isinstance(table, list) else [table]
        for row in rows:
            if not isinstance(row, dict):
                continue
            for key, value in row.items():
                if key == "channel" or key.endswith("_channel"):
                    take(value)
                elif key == "channels" and isinstance(value, (list, tuple)):
                    for v in value:
                        take(v)
    return highest, names


def with_reps(config: DrillConfig, reps: int) -> DrillConfig:
    """The drill with ``reps`` reps in all: one set of ``reps`` (``[protocol]``), or the first ``reps`` trials of
    its blocks (``[[blocks]]``); a drill with neither is returned as it is."""
    params = dict(config.params)
    if isinstance(params.get("blocks"), list) and params["blocks"]:
        left, blocks = int(reps), []
        for block in params["blocks"]:
            if left <= 0:
                break
            take = min(left, int(block.get("trials", 1)))
            blocks.append({**block, "trials": take})
            left -= take
        params["blocks"] = blocks
    elif "reps" in params.get("protocol", {}):
        proto = {**params["protocol"], "reps": int(reps)}
        if "sets" in proto:
            proto["sets"] = 1
        params["protocol"] = proto
    else:
        log.info("drill %s has no reps to set; --reps ignored", config.name)
        return config
    return replace(config, params=params)


def demo_plan(drill: str | Path = DEMO_DRILL, *, patient: str | None = None, reps: int | None = None) -> DemoPlan:
    """The drill (file or shipped name), the simulated patient fitting it (``patient`` overrides the choice) and
    the montage. ConfigError (one line) when the patient has fewer muscles than the drill's channels."""
    from emg.errors import ConfigError
    from emg.simulation.params import load_preset
    from feedback.drills import find_drill, load_drill
    from feedback.errors import FeedbackError

    try:
        config = load_drill(find_drill(drill))
    except FeedbackError as err:
        raise ConfigError(str(err)) from None
    if reps is not None:
        config = with_reps(config, reps)
    name = patient or DEMO_PATIENT_BY_KIND.get(config.kind, DEFAULT_DEMO_PATIENT)
    preset = load_preset(name)
    muscles = [m.name for m in preset.muscles]
    highest, named = drill_channels(config)
    if highest > len(muscles):
        raise ConfigError(
            f"drill {config.name!r} uses channel {highest}, but simulated patient {preset.name} has "
            f"{len(muscles)} muscles ({', '.join(muscles)}); choose a patient with more muscles (--sim-patient)"
        )
    missing = [n for n in named if n.lower() not in (m.lower() for m in muscles)]
    if missing:
        raise ConfigError(
            f"drill {config.name!r} names channel {missing[0]!r}, which simulated patient {preset.name} lacks "
            f"(muscles: {', '.join(muscles)}); choose a fitting patient with --sim-patient"
        )
    return DemoPlan(config=config, patient=name, muscles=muscles)


class PatientCueAdapter:
    """Forwards session cues to the simulated patient, translating drill targets into its own effort scale, and
    answers the drill's estimate requests (awareness) a moment later through the session, like keyed-in digits."""

    def __init__(self, source: PatientSource, session: Session | None = None, *, seed: int | None = None) -> None:
        self.source = source
        self.session = session
        self.forwarded: list[dict[str, Any]] = []
        self.estimates: list[dict[str, Any]] = []  # answers given: {t_s, estimate_pct}
        self._pending: tuple[float, float] | None = None  # (session time due, estimate %)
        self._rng = np.random.default_rng(seed)

    @property
    def effort_scale(self) -> float:
        """Fraction of its model reference the patient produced in the reference contraction."""
        return float(min(1.0, max(self.source.ceiling, 1e-3)))

    def __call__(self, cue: Cue) -> None:
        in_drill = self.session is None or self.session.in_drill
        d = cue.to_dict()
        if in_drill:
            k = self.effort_scale
            d["target_pct"] = float(d.get("target_pct") or 0.0) * k
            d["targets"] = [[int(c), float(p) * k] for c, p in (d.get("targets") or [])]
        self.forwarded.append(d)
        self.source.set_cue(d)

    def on_event(self, event: DrillEvent) -> None:
        """An estimate request: the patient judges the level it just held and answers after a moment."""
        if event.label != "estimate_request" or self.session is None or self.session.drill is None:
            return
        drill = self.session.drill
        window_s = float(getattr(drill, "measure_s", 2.0))
        estimate = self.source.estimate_pct(drill.channels[0], window_s, self.effort_scale)
        if estimate is None:
            return
        mean_s, sd_s = ESTIMATE_DELAY_S
        delay_s = float(np.clip(self._rng.normal(mean_s, sd_s), 0.4, 3.0))
        self._pending = (event.t_s + delay_s, estimate)

    def on_tick(self, t_s: float) -> None:
        """Session time ``t_s``: an answer that is due goes in as the patient's keyed-in estimate."""
        if self._pending is None or t_s < self._pending[0] or self.session is None:
            return
        estimate = self._pending[1]
        self._pending = None
        self.estimates.append({"t_s": round(t_s, 3), "estimate_pct": estimate})
        self.session.enter_estimate(estimate)


def run_demo(
    out_dir: str | Path,
    *,
    duration_s: float | None = None,
    headless: bool = True,
    drill: str | Path = DEMO_DRILL,
    patient: str | None = None,
    patient_id: str | None = None,
    reps: int | None = None,
    calibration_options: dict[str, Any] | None = None,
    fps_hz: float = 60.0,
    tone: bool = False,
    seed: int | None = DEMO_SEED,
    mains_hz: float = 50.0,
    fullscreen: bool = False,
    progress: Callable[[str], None] | None = None,
    lsl: str | None = None,
    lsl_scope: str | None = None,
    plan: DemoPlan | None = None,
) -> SessionResult:
    """Run the demo session and return its :class:`emg.live.reporting.SessionResult`.

    ``out_dir`` receives ``demo.csv`` + ``demo.json`` (the recording), ``demo.summary.json``,
    ``demo.png`` and ``demo.calibration.json``. ``patient``: simulated patient preset (default: chosen for the
    drill, :func:`demo_plan`); ``patient_id`` labels the recording (its sidecar's ``patient``). ``reps``: reps of
    the drill in all (one set). ``plan``: an already made :func:`demo_plan` (then drill, patient, reps unused).
    """
    from emg.acquire.acquisition import Acquisition
    from emg.acquire.virtual_cyton import VirtualCyton
    from emg.errors import ConfigError
    from emg.live.session import Session
    from emg.simulation.source import PatientSource
    from feedback.drills import make_drill

    out = Path(out_dir)
    plan = plan or demo_plan(drill, patient=patient, reps=reps)
    config = plan.config
    if out.exists() and not out.is_dir():
        raise ConfigError(
            f"--out {out} is a file; the demo writes a folder of outputs: give a new folder, "
            f"e.g. --out {out.with_suffix('')}-demo"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"cannot create the output folder {out} ({err.strerror or err}); choose a writable --out folder"
        ) from None
    source = PatientSource(plan.patient, scenario=None, autopilot=False, seed=seed, mains_hz=mains_hz)
    muscles = list(plan.muscles)
    meta: dict[str, Any] = {
        "demo": True,
        "ground_truth": {"generator": "PatientSource (live)", "patient": source.preset.name, "seed": seed},
    }
    if patient_id:
        meta["patient"] = patient_id

    def acquire(part: int, path: Path) -> Acquisition:
        return Acquisition("cyton", serial_port=vc.port, record_to=path, muscles=muscles, record_meta=meta)

    with VirtualCyton(source) as vc:
        adapter = PatientCueAdapter(source, seed=seed)
        session = Session(
            acquire,
            lambda fs, n, names: make_drill(config, fs_hz=fs, n_channels=n, channel_names=names),
            None,
            record_to=out / "demo.csv",
            headless=headless,
            fps_hz=fps_hz,
            duration_s=duration_s,
            mains_hz=mains_hz,
            on_cue=adapter,
            on_event=adapter.on_event,
            on_tick=adapter.on_tick,
            tone=tone,
            channels=list(range(len(muscles))),
            calibration_options=dict(calibration_options or DEMO_CALIBRATION),
            progress=progress,
            lsl=lsl,
            lsl_scope=lsl_scope,
            fullscreen=fullscreen,
        )
        adapter.session = session
        result = session.run()
        try:
            truth = source.truth()
            truth.pop("cues", None)
            result.summary["patient"] = {
                "preset": source.preset.name,
                "id": patient_id,
                "ceiling": truth.get("ceiling"),
                "effort_scale": adapter.effort_scale,
                "seed": seed,
                "cues_followed": len(adapter.forwarded),
                "estimates_given": len(adapter.estimates),
            }
        except Exception as err:  # noqa: BLE001 - informative only
            log.debug("no ground truth: %s", err)
    return result
