"""Offline generation: a whole simulated recording with its ground truth.

``simulate(scenario, patient, duration_s=..., fs_hz=..., seed=...)`` runs the scenario's cue
protocol through a :class:`~emg.simulation.engine.Simulator` and returns a :class:`SimResult`:
the board's samples (channels x samples, uV), the accelerometer (3 x samples, g), the truth arrays
(activation per sample, expected EMG RMS, median frequency, fatigue) and a JSON-ready ``truth``
dict (reference levels, onsets and offsets, cues, every injected artefact).

``generate_emg(activation, fs_hz, ...)`` is the plain generator: EMG for given activation profiles.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emg import __version__
from emg.errors import ConfigError
from emg.simulation.artefacts import ArtefactConfig
from emg.simulation.engine import Simulator
from emg.simulation.params import MuscleParams, PatientPreset, load_preset
from emg.simulation.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)

#: onset/offset rule of the ground truth
ONSET_RULE = (
    "onset: first sample after a contract cue where the drive exceeds rest + 5 % of that rep's "
    "peak excursion; offset: first sample after the peak where it falls below that level again; "
    "rise_start: first sample where the drive leaves rest (+0.1 % of the excursion); "
    "fall_end: first sample after the offset where the drive is back within rest + 0.1 % of the "
    "excursion (None if not before the next rep's cue); detectable_onset / detectable_offset: first "
    "sample up to the peak where the noise-free EMG RMS of the muscle (reference_uv_at_board x drive) "
    "exceeds the channel's rest noise RMS (sqrt(noise_floor_uv^2 + (reference_uv_at_board x rest)^2)), "
    "and first sample after the peak where it is below it again (both None if the peak never exceeds "
    "it; crosstalk, fatigue gain and artefacts are not counted)"
)
ONSET_FRACTION = 0.05
CHUNK_S = 10.0


@dataclass
class SimResult:
    """A simulated recording: ``exg_uv`` (C, n) uV and ``accel_g`` (3, n) g at ``fs_hz``;
    ``activation`` (C, n) float32 true drive (fraction of reference); ``dropped`` (n,) samples lost
    in transmission (a writer leaves them out); at ``slow_fs_hz`` (sample ``j`` is output sample
    ``j * slow_step``): ``emg_rms_uv``, ``median_hz``, ``fatigue_s`` (C, m)."""

    exg_uv: np.ndarray
    accel_g: np.ndarray
    activation: np.ndarray
    emg_rms_uv: np.ndarray
    median_hz: np.ndarray
    fatigue_s: np.ndarray
    dropped: np.ndarray
    fs_hz: float
    channel_names: list[str]
    slow_step: int = 1
    truth: dict[str, Any] = field(default_factory=dict)

    @property
    def slow_fs_hz(self) -> float:
        return self.fs_hz / self.slow_step

    @property
    def n_samples(self) -> int:
        return int(self.exg_uv.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz


def _activations(
    act: np.ndarray,
    rest: np.ndarray,
    cue_samples: list[tuple[int, dict]],
    fs_hz: float,
    n_muscles: int,
    detect_level: np.ndarray | None = None,
) -> list[list[dict[str, Any]]]:
    """Per channel, the contractions (onset, offset, peak) in each rep, by :data:`ONSET_RULE`.
    ``detect_level``: per channel, the drive whose EMG equals the rest noise RMS (rest noise RMS /
    reference_uv_at_board); without it the detectable keys are not added."""
    starts = [(k, c) for k, c in cue_samples if c["phase"] == "contract"]
    n = act.shape[1]
    out: list[list[dict[str, Any]]] = [[] for _ in range(act.shape[0])]
    for i, (k0, cue) in enumerate(starts):
        k1 = starts[i + 1][0] if i + 1 < len(starts) else n
        if k0 >= n:
            break
        for ch in range(n_muscles):
            seg = act[ch, k0:k1]
            if seg.size == 0:
                continue
            base = rest[ch]
            ipk = int(np.argmax(seg))
            peak = float(seg[ipk])
            if peak - base < 0.02:
                continue
            thr = base + ONSET_FRACTION * (peak - base)
            above = np.flatnonzero(seg[: ipk + 1] > thr)
            if above.size == 0:
                continue
            on = int(above[0])
            moved = np.flatnonzero(seg[: on + 1] > base + 1e-4 + 1e-3 * (peak - base))
            start = int(moved[0]) if moved.size else on
            # the contraction must start after the cue (not be the tail of the previous one)
            below_after = np.flatnonzero(seg[ipk:] < thr)
            off = ipk + int(below_after[0]) if below_after.size else None
            hold = seg[on : off if off is not None else seg.size]
            extra: dict[str, Any] = {}
            if off is not None:
                back = np.flatnonzero(seg[off:] <= base + 1e-4 + 1e-3 * (peak - base))
                extra["fall_end_s"] = (k0 + off + int(back[0])) / fs_hz if back.size else None
            else:
                extra["fall_end_s"] = None
            if detect_level is not None:
                lvl = float(detect_level[ch])
                d_on = d_off = None
                if peak > lvl:
                    d_on = int(np.flatnonzero(seg[: ipk + 1] > lvl)[0])
                    d_below = np.flatnonzero(seg[ipk:] <= lvl)
                    d_off = ipk + int(d_below[0]) if d_below.size else None
                extra["detectable_onset_s"] = (k0 + d_on) / fs_hz if d_on is not None else None
                extra["detectable_offset_s"] = (k0 + d_off) / fs_hz if d_off is not None else None
            out[ch].append(
                {
                    "rep": int(cue.get("rep", i + 1)),
                    "cue_s": k0 / fs_hz,
                    "target_pct": float(cue.get("target_pct", 0.0)) if ch == cue.get("channel", 0) else None,
                    "rise_start_s": (k0 + start) / fs_hz,
                    "onset_s": (k0 + on) / fs_hz,
                    "onset_sample": k0 + on,
                    "offset_s": (k0 + off) / fs_hz if off is not None else None,
                    "offset_sample": k0 + off if off is not None else None,
                    "peak_pct": 100.0 * peak,
                    "mean_pct": 100.0 * float(np.mean(hold)) if hold.size else None,
                    **extra,
                }
            )
    return out


def simulate(
    scenario: str | Scenario | None = None,
    patient: str | PatientPreset | None = None,
    *,
    duration_s: float | None = None,
    fs_hz: float = 1000.0,
    n_channels: int | None = None,
    seed: int | None = 0,
    session: int = 0,
    disable: set[str] | None = None,
    enable: set[str] | None = None,
    mains_hz: float | None = None,
    decimation: str = "auto",
    band_hz: tuple[float, float] | None = None,
    chunk_s: float = CHUNK_S,
) -> SimResult:
    """Simulate a scenario. ``disable``/``enable``: artefact or physiology kinds to switch off/on
    (``mains``, ``ecg``, ``motion``, ``pop``, ``lead_off``, ``railing``, ``dropped``, ``fatigue``,
    ``tremor``, ``cocontraction``). ``mains_hz``: 50 or 60 (also switches mains on)."""
    sc = load_scenario(scenario)
    preset = load_preset(patient if patient is not None else sc.patient)
    dur = sc.duration_s if duration_s is None else duration_s
    try:
        dur = float(dur)
    except (TypeError, ValueError):
        raise ConfigError(f"--duration {duration_s!r} is not a number of seconds") from None
    if not math.isfinite(dur) or dur <= 0:
        raise ConfigError(f"duration_s = {dur!r} is impossible; give a positive number of seconds")
    disable = set(disable or ())
    enable = set(enable or ())
    known = {"mains", "ecg", "motion", "pop", "lead_off", "railing", "dropped", "fatigue", "tremor", "cocontraction"}
    for k in disable | enable:
        if k not in known:
            raise ConfigError(f"unknown kind {k!r} to switch; use: {', '.join(sorted(known))}")
    arts: ArtefactConfig = sc.artefacts.without(disable)
    from dataclasses import replace

    if mains_hz is not None:
        arts.mains = replace(arts.mains, enabled=True, frequency_hz=float(mains_hz))
    if "mains" in enable:
        arts.mains = replace(arts.mains, enabled=True)
    if "ecg" in enable:
        arts.ecg = replace(arts.ecg, enabled=True)
    arts.validate()
    phys = dict(sc.physiology)
    for k in ("fatigue", "tremor", "cocontraction"):
        if k in disable:
            phys[k] = False
        if k in enable:
            phys[k] = True
    sim = Simulator(
        preset,
        fs_hz=fs_hz,
        n_channels=n_channels,
        artefacts=arts,
        seed=seed,
        session=session,
        fatigue=phys.get("fatigue"),
        tremor=phys.get("tremor"),
        cocontraction=phys.get("cocontraction", True),
        decimation=decimation,
        band_hz=band_hz,
        accel_sway_g=sc.accel_sway_g,
    )
    n_total = int(round(dur * sim.fs_hz))
    cues = [(int(round(t * sim.fs_hz)), c) for t, c in sc.cues(dur)]
    chunk = max(1, int(chunk_s * sim.fs_hz))
    c = sim.n_channels
    m_total = -(-n_total // sim.slow_step)
    res = SimResult(
        np.empty((c, n_total)),
        np.empty((3, n_total)),
        np.empty((c, n_total), dtype=np.float32),
        np.empty((c, m_total)),
        np.empty((c, m_total)),
        np.empty((c, m_total)),
        np.zeros(n_total, dtype=bool),
        sim.fs_hz,
        sim.channel_names(),
        sim.slow_step,
    )
    ci = 0
    k = 0
    while k < n_total:
        while ci < len(cues) and cues[ci][0] <= k:
            sim.set_cue(cues[ci][1])
            ci += 1
        nxt = cues[ci][0] if ci < len(cues) else n_total
        n = min(chunk, n_total - k, max(1, nxt - k))
        part = sim.generate(n)
        sl = slice(k, k + n)
        res.exg_uv[:, sl] = part.exg_uv
        res.accel_g[:, sl] = part.accel_g
        res.activation[:, sl] = part.activation
        if part.slow_first >= 0:
            ss = slice(part.slow_first, part.slow_first + part.median_hz.shape[1])
            res.emg_rms_uv[:, ss] = part.emg_rms_uv
            res.median_hz[:, ss] = part.median_hz
            res.fatigue_s[:, ss] = part.fatigue_s
        res.dropped[sl] = part.dropped
        k += n
    res.truth = build_truth(sim, sc, res, cues, seed=seed, session=session, duration_s=dur)
    return res


def build_truth(
    sim: Simulator,
    sc: Scenario,
    res: SimResult,
    cues: list[tuple[int, dict]],
    *,
    seed: int | None,
    session: int,
    duration_s: float,
) -> dict[str, Any]:
    """The JSON-ready ground truth of a run (the sidecar's ``ground_truth``)."""
    p = sim.preset
    rest = np.zeros(sim.n_channels)
    rest[: sim.n_muscles] = sim.patient.rest
    channels = []
    for c in range(sim.n_channels):
        entry: dict[str, Any] = {
            "index": c,
            "name": res.channel_names[c],
            "noise_floor_uv": float(sim.noise_floor_uv[c]),
        }
        if c < sim.n_muscles:
            m: MuscleParams = p.muscles[c]
            entry.update(
                {
                    "muscle": m.name,
                    "reference_uv": m.reference_uv,
                    "reference_uv_at_board": float(m.reference_uv * math.sqrt(sim.power_fraction[c])),
                    "median_hz": m.median_hz,
                    "band_hz": list(sim.bands[c]),
                    "crosstalk": m.crosstalk,
                    "follows": m.follows,
                    "cocontraction": m.cocontraction,
                    "rest_activation": float(sim.patient.rest[c]),
                    "relax_time_s": float(sim.patient.relax_time_s[c]),
                    "reaction_time_s": float(sim.patient.reaction_s[c]),
                    "ecg_uv": float(sim.ecg_gain[c]),
                }
            )
        else:
            entry["muscle"] = None
        channels.append(entry)
    r = p.response
    arts = []
    a = sim.artefacts
    if a.mains.enabled:
        arts.append(
            {
                "kind": "mains",
                "channels": list(range(sim.n_channels)),
                "start_s": 0.0,
                "end_s": duration_s,
                "frequency_hz": a.mains.frequency_hz,
                "amplitude_uv": a.mains.amplitude_uv,
                "harmonics": list(a.mains.harmonics),
                "channel_gains": sim.mains_gain.round(4).tolist(),
            }
        )
    if a.ecg.enabled and sim.ecg_gain.any():
        arts.append(
            {
                "kind": "ecg",
                "channels": [int(i) for i in np.flatnonzero(sim.ecg_gain)],
                "start_s": 0.0,
                "end_s": duration_s,
                "heart_rate_bpm": a.ecg.heart_rate_bpm,
                "hrv_sd_s": a.ecg.hrv_sd_s,
                "r_peaks_s": [round(t, 5) for t in sim.ecg_r_peaks_s if t < duration_s],
            }
        )
    arts.extend(sorted(sim.artefact_log, key=lambda e: (e["start_s"], e["kind"])))
    cue_list = []
    for rec in sim.patient.cues:
        cue_list.append(
            {
                "time_s": round(rec.time_s, 6),
                "sample": int(round(rec.time_s * sim.fs_hz)),
                "phase": rec.phase,
                "target_pct": rec.target_pct,
                "channel": rec.channel,
                "reaction_s": None if math.isnan(rec.reaction_s) else round(rec.reaction_s, 4),
            }
        )
    dropped = np.flatnonzero(res.dropped)
    return {
        "generator": f"emg.simulation {__version__}",
        "seed": seed,
        "session": session,
        "scenario": sc.to_dict(),
        "patient": p.to_dict(),
        "fs_hz": sim.fs_hz,
        "generation_fs_hz": sim.board.fs_gen_hz,
        "board_model": sim.board.name,
        "decimation": sim.board.decimation,
        "board_description": sim.board.describe(),
        "adc_centre_offset_s": sim.adc_centre_offset_s,
        "duration_s": duration_s,
        "units": {"activation": "fraction of reference (1.0 = 100 % = reference_uv RMS)", "emg": "uV"},
        "reference": "activation 1.0 = EMG RMS of reference_uv at the electrodes; reference_uv_at_board is "
        "that RMS after the board's decimation filter",
        "ceiling": r.ceiling,
        "response": {k: getattr(r, k) for k in r.__dataclass_fields__},
        "physiology": {
            "fatigue": sim.fatigue_on,
            "tremor": sim.patient.tremor_on,
            "cocontraction": sim.patient.cocontraction_on,
        },
        "fatigue": {k: getattr(p.fatigue, k) for k in p.fatigue.__dataclass_fields__},
        "channels": channels,
        "cues": cue_list,
        "onset_rule": ONSET_RULE,
        "activations": _activations(res.activation, rest, cues, sim.fs_hz, sim.n_muscles, _detect_level(sim, rest)),
        "artefacts": arts,
        "dropped_samples": _ranges(dropped),
    }


def _detect_level(sim: Simulator, rest: np.ndarray) -> np.ndarray:
    """Per muscle channel, the drive at which the muscle's noise-free EMG RMS at the board
    (reference_uv_at_board x drive) equals the channel's rest noise RMS (noise floor and rest EMG)."""
    m = sim.n_muscles
    ref_b = sim.reference_uv[:m] * np.sqrt(sim.power_fraction[:m])
    rest_rms = np.sqrt(sim.noise_floor_uv[:m] ** 2 + (ref_b * rest[:m]) ** 2)
    return rest_rms / ref_b


def _ranges(idx: np.ndarray) -> list[list[int]]:
    """Consecutive indices as ``[[first, last_exclusive], ...]``."""
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return [[int(a), int(b)] for a, b in zip(starts, ends, strict=False)]


def generate_emg(
    activation: np.ndarray,
    fs_hz: float,
    *,
    muscles: list[MuscleParams] | None = None,
    seed: int | None = 0,
    artefacts: ArtefactConfig | None = None,
    decimation: str = "auto",
    fatigue_s: np.ndarray | None = None,
    median_rate_hz_per_s: float = 0.0,
) -> np.ndarray:
    """sEMG (C, n) in uV at ``fs_hz`` for given activation profiles (C, n) (fraction of each muscle's
    reference), on each muscle's noise floor; ``fatigue_s`` (C, n) with ``median_rate_hz_per_s``
    lowers the median frequency. Activation is held over each output sample on decimating boards."""
    act = np.atleast_2d(np.asarray(activation, dtype=np.float64))
    if not np.all(np.isfinite(act)) or np.any(act < 0):
        raise ConfigError("activation must be finite and >= 0 (fraction of reference)")
    c, n = act.shape
    muscles = muscles or [MuscleParams(name=f"muscle{i + 1}") for i in range(c)]
    if len(muscles) != c:
        raise ConfigError(f"{len(muscles)} muscles given for {c} activation rows; give one per row")
    preset = PatientPreset(name="profile", muscles=muscles).validate()
    sim = Simulator(preset, fs_hz=fs_hz, artefacts=artefacts, seed=seed, fatigue=False, decimation=decimation)
    f = sim.factor
    a_gen = np.repeat(act, f, axis=1)
    if fatigue_s is not None:
        fz = np.repeat(np.atleast_2d(np.asarray(fatigue_s, dtype=np.float64)), f, axis=1)
        median = np.maximum(sim.median0[:, None] - median_rate_hz_per_s * fz, sim.mdf_floor[:, None])
    else:
        median = None
    src = sim.noise.read(n * f, median)
    x = sim.mix @ (src * (sim.reference_uv[:, None] * a_gen))
    if sim.artefacts.mains.enabled:
        x += sim.mains(0, n * f)
    y = sim.decimator.process(x) if sim.decimator else x
    for i in range(c):
        y[i] += sim.floor_rngs[i].standard_normal(n) * sim.noise_floor_uv[i]
    return y
