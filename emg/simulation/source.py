"""PatientSource: the simulated patient as a signal source for the virtual Cyton.

It implements the virtual Cyton's ``SignalSource`` protocol (docs/ARCHITECTURE.md):
``fs_hz`` (250), ``read(n) -> (exg_uv (8, n), accel_g (3, n))`` and ``set_cue(cue)``. Samples
come from :class:`~emg.simulation.engine.Simulator` at the Cyton's real 250 Hz with the ADS1299's
sinc^3 decimation (generated at 4 kHz), so BrainFlow's real Cyton driver sees EMG-like data with
the board's aliasing.

Cues: until a drill calls ``set_cue`` the patient runs the scenario's own protocol (autopilot:
the default ``reps`` scenario, contract-hold-relax reps at 50 %), so ``emg virtual-cyton --source
patient`` and ``emg record --board cyton`` produce contractions on their own. The first external
cue switches the autopilot off and from then on the patient follows the drill's cues only. A cue
is a mapping or object with ``phase`` (contract | hold | relax | rest), ``target_pct`` (% of
reference) and ``channel`` (0-based), optionally ``targets`` ``[(channel, target_pct), ...]``;
:class:`feedback.state.Cue` fits. The patient reaches min(target, ceiling) after its reaction time.
Optionally ``see(level_pct)`` shows it the displayed level, and it corrects toward the target.

Awareness drills ask the patient how strong a contraction was: :meth:`PatientSource.estimate_pct` gives the
patient's own estimate of its mean drive over the last seconds, on the display's scale, with a person's error
(a bias and a spread that grows with the level; ``estimate_bias_pct``, ``estimate_sd_pct``).

Thread-safe: the virtual Cyton calls ``read`` from its thread while a drill calls ``set_cue``.
The ground truth of what was produced is kept (``activation_history``, ``cue_log``) for tests.
Dropped packets are not produced here (the virtual Cyton drops packets itself when its reader
falls behind); the other artefacts of the scenario are.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from emg.simulation import DEFAULT_PATIENT
from emg.simulation.artefacts import ArtefactConfig
from emg.simulation.engine import Simulator
from emg.simulation.params import PatientPreset
from emg.simulation.scenario import DEFAULT_SCENARIO, Scenario, load_scenario

log = logging.getLogger(__name__)

CYTON_FS_HZ = 250.0
CYTON_CHANNELS = 8
#: a person's estimate of their own contraction level: SD of the error, % points at 0 % plus % of the level
ESTIMATE_SD_PCT = (4.0, 12.0)
#: how long a repeating autopilot protocol runs (then the patient rests)
AUTOPILOT_HORIZON_S = 86400.0


class PatientSource:
    """A simulated patient streaming like a Cyton (250 Hz, 8 channels in uV, accelerometer in g).

    ``patient``: preset name, TOML path or :class:`PatientPreset` (default: the demo's patient,
    post-operative quadriceps, ceiling 60 % of reference). ``scenario``: the autopilot protocol
    and artefacts (default ``reps``); ``autopilot=False`` rests until a cue arrives. ``seed``:
    reproducible. ``mains_hz``: 50/60 switches mains on at that frequency, 0 switches it off,
    None keeps the scenario's. ``session``: session number (session-to-session change).
    ``fs_hz``/``n_channels``: 250 and 8 for the Cyton (200 and 4 make a Ganglion-like source).
    ``truth_limit_s``: how much activation history to keep (oldest dropped first). ``estimate_bias_pct`` /
    ``estimate_sd_pct``: how the patient misjudges its own level (:meth:`estimate_pct`).
    """

    def __init__(
        self,
        patient: str | PatientPreset | None = None,
        *,
        scenario: str | Scenario | None = DEFAULT_SCENARIO,
        seed: int | None = None,
        autopilot: bool = True,
        mains_hz: float | None = None,
        session: int = 0,
        fs_hz: float = CYTON_FS_HZ,
        n_channels: int = CYTON_CHANNELS,
        artefacts: ArtefactConfig | None = None,
        truth_limit_s: float = 3600.0,
        estimate_bias_pct: float = 5.0,
        estimate_sd_pct: tuple[float, float] = ESTIMATE_SD_PCT,
    ) -> None:
        from dataclasses import replace

        sc = load_scenario(scenario) if scenario is not None else Scenario(name="none", steps=[])
        arts = artefacts if artefacts is not None else sc.artefacts
        if mains_hz is not None:
            arts = ArtefactConfig(
                mains=replace(
                    arts.mains,
                    enabled=bool(mains_hz),
                    frequency_hz=float(mains_hz) if mains_hz else arts.mains.frequency_hz,
                ),
                ecg=arts.ecg,
                events=list(arts.events),
                random_per_min=dict(arts.random_per_min),
            )
        if any(e.kind == "dropped" for e in arts.events) or arts.random_per_min.get("dropped"):
            log.info("dropped packets are not simulated by PatientSource; the virtual Cyton drops them itself")
            arts = arts.without({"dropped"})
        self.scenario = sc
        self.sim = Simulator(
            patient if patient is not None else DEFAULT_PATIENT,
            fs_hz=fs_hz,
            n_channels=n_channels,
            artefacts=arts,
            seed=seed,
            session=session,
            fatigue=sc.physiology.get("fatigue"),
            tremor=sc.physiology.get("tremor"),
            cocontraction=sc.physiology.get("cocontraction", True),
            accel_sway_g=sc.accel_sway_g,
        )
        self.fs_hz = float(self.sim.fs_hz)
        self.n_channels = int(n_channels)
        self.patient = self.sim.patient
        self.preset = self.sim.preset
        self._lock = threading.Lock()
        self._autopilot = bool(autopilot) and bool(sc.steps)
        self._auto_cues = (
            [(int(round(t * self.fs_hz)), c) for t, c in sc.cues(AUTOPILOT_HORIZON_S if sc.repeat else sc.duration_s)]
            if self._autopilot
            else []
        )
        self._auto_i = 0
        self.cue_log: list[dict[str, Any]] = []
        self._hist: list[np.ndarray] = []
        self._hist_n = 0
        self._truth_limit = int(truth_limit_s * self.fs_hz)
        self.last_cue: Any = None
        self.estimate_bias_pct = float(estimate_bias_pct)
        self.estimate_sd_pct = (float(estimate_sd_pct[0]), float(estimate_sd_pct[1]))
        self._estimate_rng = np.random.default_rng(None if seed is None else int(seed) + 7919)

    # -------------------------------------------------------------------------------- protocol
    @property
    def sample(self) -> int:
        """Samples delivered so far."""
        return self.sim.k

    @property
    def time_s(self) -> float:
        return self.sim.time_s

    @property
    def autopilot(self) -> bool:
        return self._autopilot

    @property
    def ceiling(self) -> float:
        """The patient's ceiling (fraction of reference) this session."""
        return self.patient.ceiling

    def channel_names(self) -> list[str]:
        return self.sim.channel_names()

    def set_cue(self, cue: Any) -> None:
        """Follow a drill cue from now on (switches the autopilot off)."""
        with self._lock:
            if self._autopilot:
                log.info("patient: drill cues received, autopilot off")
            self._autopilot = False
            self.sim.set_cue(cue)
            self.last_cue = cue
            self.cue_log.append(
                {"sample": self.sim.k, "time_s": self.sim.time_s, **{k: v for k, v in self._cue_dict(cue).items()}}
            )

    def see(self, level_pct: Any) -> None:
        """Show the patient the displayed level (% of the drill's reference): a number for the cued
        channel, a sequence per channel or ``{channel: pct}``. Optional; call it as the display
        updates (e.g. every chunk) and the patient corrects its effort toward the target band."""
        with self._lock:
            self.patient.see(level_pct)

    @staticmethod
    def _cue_dict(cue: Any) -> dict[str, Any]:
        from emg.simulation.patient import cue_fields

        phase, target, channel, targets = cue_fields(cue)
        d: dict[str, Any] = {"phase": phase, "target_pct": target, "channel": channel}
        if targets:
            d["targets"] = targets
        return d

    def read(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n`` samples: ``exg_uv`` (n_channels, n) and ``accel_g`` (3, n), float64."""
        n = int(n)
        with self._lock:
            exg_parts, acc_parts = [], []
            done = 0
            while done < n:
                k = self.sim.k
                step = n - done
                if self._autopilot:
                    while self._auto_i < len(self._auto_cues) and self._auto_cues[self._auto_i][0] <= k:
                        cue = self._auto_cues[self._auto_i][1]
                        self.sim.set_cue(cue)
                        self.cue_log.append(
                            {"sample": k, "time_s": k / self.fs_hz, "autopilot": True, **self._cue_dict(cue)}
                        )
                        self._auto_i += 1
                    if self._auto_i < len(self._auto_cues):
                        step = min(step, self._auto_cues[self._auto_i][0] - k)
                chunk = self.sim.generate(step)
                exg_parts.append(chunk.exg_uv)
                acc_parts.append(chunk.accel_g)
                self._keep(chunk.activation)
                done += step
            if len(exg_parts) == 1:
                return exg_parts[0], acc_parts[0]
            return np.concatenate(exg_parts, axis=1), np.concatenate(acc_parts, axis=1)

    def estimate_pct(self, channel: int, window_s: float, full_scale: float = 1.0) -> float | None:
        """The patient's estimate (%) of its mean drive on ``channel`` over the last ``window_s`` seconds, where
        ``full_scale`` (fraction of its model reference) is 100 % on the display; None without that history.
        The error: ``estimate_bias_pct`` plus a normal spread of ``sd0 + sd1 * level`` (``estimate_sd_pct``)."""
        _, act = self.activation_history()
        n = max(1, int(round(window_s * self.fs_hz)))
        if act.shape[1] == 0 or not 0 <= channel < act.shape[0]:
            return None
        level_pct = 100.0 * float(np.mean(act[channel, -n:])) / max(full_scale, 1e-3)
        sd0, sd1 = self.estimate_sd_pct
        with self._lock:
            noise = float(self._estimate_rng.normal(0.0, sd0 + sd1 * level_pct / 100.0))
        return float(np.clip(round(level_pct + self.estimate_bias_pct + noise), 0.0, 150.0))

    # -------------------------------------------------------------------------------- truth
    def _keep(self, act: np.ndarray) -> None:
        self._hist.append(act.astype(np.float32))
        self._hist_n += act.shape[1]
        while self._hist and self._hist_n - self._hist[0].shape[1] >= self._truth_limit:
            self._hist_n -= self._hist.pop(0).shape[1]

    def activation_history(self) -> tuple[int, np.ndarray]:
        """``(first_sample, activation (C, k))``: the true drive (fraction of reference) of the samples kept."""
        with self._lock:
            if not self._hist:
                return self.sim.k, np.zeros((self.n_channels, 0), dtype=np.float32)
            act = np.concatenate(self._hist, axis=1)
            return self.sim.k - act.shape[1], act

    def truth(self) -> dict[str, Any]:
        """What a recording's ``ground_truth`` needs from a live run (patient, reference levels, cues, artefacts)."""
        with self._lock:
            sim = self.sim
            return {
                "generator": "emg.simulation.source.PatientSource",
                "patient": sim.preset.to_dict(),
                "session": sim.patient.session,
                "fs_hz": sim.fs_hz,
                "generation_fs_hz": sim.board.fs_gen_hz,
                "decimation": sim.board.decimation,
                "ceiling": sim.patient.ceiling,
                "channels": [
                    {
                        "index": i,
                        "name": n,
                        "reference_uv": float(sim.reference_uv[i]) if i < sim.n_muscles else None,
                        "reference_uv_at_board": float(sim.reference_uv[i] * np.sqrt(sim.power_fraction[i]))
                        if i < sim.n_muscles
                        else None,
                    }
                    for i, n in enumerate(sim.channel_names())
                ],
                "cues": list(self.cue_log),
                "artefacts": list(sim.artefact_log),
            }
