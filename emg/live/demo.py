"""The demo: a whole biofeedback session with no hardware.

The simulated patient (:class:`emg.simulation.source.PatientSource`, post-operative quadriceps by
default) streams through the virtual Cyton on a pseudo-terminal, which BrainFlow's real Cyton
driver reads; the session calibrates (rest, then reference contractions, best of N), then runs the
reach-and-hold drill ``feedback/drills/reach_hold_demo.toml`` with the live view, recording
everything. Headless, it writes the recording, the summary JSON and a PNG of the final frame.

The patient follows the drill's cues. A real patient closes the loop through the display: asked
for 45 % of their reference contraction they aim for 45 % of what they produced in it. The
simulated patient aims for a fraction of its own model reference instead, so
:class:`PatientCueAdapter` passes calibration cues unchanged (the reference contraction is "as hard
as you can") and scales the drill's targets by the effort the patient gave in the reference
contraction (its ceiling), which is what the patient's own perception does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emg.live.reporting import SessionResult
    from emg.live.session import Session
    from emg.simulation.source import PatientSource
    from feedback.state import Cue

log = logging.getLogger(__name__)

DEMO_DRILL = "reach_hold_demo"
#: calibration for the demo: short but complete (rest baseline, best of 2 reference contractions)
DEMO_CALIBRATION = {"prepare_s": 1.0, "rest_s": 2.0, "contraction_s": 1.5, "n_contractions": 2, "between_s": 1.0}
DEMO_SEED = 7


class PatientCueAdapter:
    """Forwards session cues to the simulated patient, translating drill targets into its own effort scale."""

    def __init__(self, source: PatientSource, session: Session | None = None) -> None:
        self.source = source
        self.session = session
        self.forwarded: list[dict[str, Any]] = []

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


def run_demo(
    out_dir: str | Path,
    *,
    duration_s: float | None = None,
    headless: bool = True,
    drill: str | Path = DEMO_DRILL,
    patient: str | None = None,
    reps: int | None = None,
    calibration_options: dict[str, Any] | None = None,
    fps_hz: float = 60.0,
    tone: bool = False,
    seed: int | None = DEMO_SEED,
    mains_hz: float = 50.0,
    progress: Callable[[str], None] | None = None,
    lsl: str | None = None,
    lsl_scope: str | None = None,
) -> SessionResult:
    """Run the demo session and return its :class:`emg.live.reporting.SessionResult`.

    ``out_dir`` receives ``demo.csv`` + ``demo.json`` (the recording), ``demo.summary.json``,
    ``demo.png`` and ``demo.calibration.json``. ``reps`` overrides the drill's rep count.
    """
    from emg.acquire.acquisition import Acquisition
    from emg.acquire.virtual_cyton import VirtualCyton
    from emg.errors import ConfigError
    from emg.live.session import Session
    from emg.simulation.source import PatientSource
    from feedback.drills import find_drill, load_drill, make_drill

    out = Path(out_dir)
    config = load_drill(find_drill(drill))
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
    if reps is not None:
        params = dict(config.params)
        params["protocol"] = {**params["protocol"], "reps": int(reps)}
        config = replace(config, params=params)
    source = PatientSource(patient, scenario=None, autopilot=False, seed=seed, mains_hz=mains_hz)
    muscles = [m.name for m in source.preset.muscles]
    n_used = len(muscles)

    def acquire(part: int, path: Path) -> Acquisition:
        return Acquisition(
            "cyton",
            serial_port=vc.port,
            record_to=path,
            muscles=muscles,
            record_meta={
                "demo": True,
                "ground_truth": {"generator": "PatientSource (live)", "patient": source.preset.name, "seed": seed},
            },
        )

    with VirtualCyton(source) as vc:
        adapter = PatientCueAdapter(source)
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
            tone=tone,
            channels=list(range(n_used)),
            calibration_options=dict(calibration_options or DEMO_CALIBRATION),
            progress=progress,
            lsl=lsl,
            lsl_scope=lsl_scope,
        )
        adapter.session = session
        result = session.run()
        try:
            truth = source.truth()
            truth.pop("cues", None)
            result.summary["patient"] = {
                "preset": source.preset.name,
                "ceiling": truth.get("ceiling"),
                "effort_scale": adapter.effort_scale,
                "seed": seed,
                "cues_followed": len(adapter.forwarded),
            }
        except Exception as err:  # noqa: BLE001 - informative only
            log.debug("no ground truth: %s", err)
    return result
