"""simulation: a patient and a board that do not exist. Realistic surface EMG with ground truth, offline and live.

- :mod:`emg.simulation.generator`: ``simulate(scenario, patient, ...)`` -> :class:`SimResult`
  (samples + ground truth), ``generate_emg(activation, fs_hz, ...)``;
- :mod:`emg.simulation.engine`: the streaming :class:`Simulator` (patient -> EMG -> artefacts -> board);
- :mod:`emg.simulation.patient`: :class:`PatientModel`, the closed-loop response to drill cues;
- :mod:`emg.simulation.source`: :class:`PatientSource`, a signal source for the virtual Cyton;
- :mod:`emg.simulation.params` / :mod:`emg.simulation.scenario`: presets and scenarios in TOML;
- :mod:`emg.simulation.decimation`: the ADS1299's sinc^3 decimation filter;
- :mod:`emg.simulation.writer`: writes a simulation in the project's recording format.

Names are imported lazily so ``import emg.simulation`` stays cheap.
"""

from __future__ import annotations

from typing import Any

#: the patient the demo uses: can reach and hold a 40-60 % of reference band (ceiling 60 %)
DEFAULT_PATIENT = "post_op_quadriceps"

_EXPORTS = {
    "simulate": "emg.simulation.generator",
    "generate_emg": "emg.simulation.generator",
    "SimResult": "emg.simulation.generator",
    "Simulator": "emg.simulation.engine",
    "board_model": "emg.simulation.engine",
    "PatientModel": "emg.simulation.patient",
    "PatientSource": "emg.simulation.source",
    "PatientPreset": "emg.simulation.params",
    "MuscleParams": "emg.simulation.params",
    "load_preset": "emg.simulation.params",
    "list_presets": "emg.simulation.params",
    "list_scenarios": "emg.simulation.params",
    "load_scenario": "emg.simulation.scenario",
    "Scenario": "emg.simulation.scenario",
    "ArtefactConfig": "emg.simulation.artefacts",
    "ArtefactEvent": "emg.simulation.artefacts",
    "write_simulation": "emg.simulation.writer",
}

__all__ = ["DEFAULT_PATIENT", *_EXPORTS]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'emg.simulation' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
