"""The streaming simulation engine: patient drive -> sEMG -> artefacts -> board -> samples + truth.

:class:`Simulator` produces successive chunks (:class:`SimChunk`) of a simulated recording:

1. the :class:`~emg.simulation.patient.PatientModel` gives each muscle's activation (drive) and
   fatigue at the internal rate ``fs_gen_hz``;
2. each muscle's EMG = ``reference_uv`` x activation x fatigue amplitude gain x unit-variance
   stochastic EMG whose spectrum has the (fatigue-lowered) median frequency
   (:class:`~emg.simulation.noise.ShapedNoise`);
3. crosstalk mixes each muscle into its neighbouring channels;
4. mains, ECG, motion, electrode pops and lead-off are added at the electrodes;
5. the board: on 250/200/125 Hz boards the signal, generated at 16 x the ADC rate, goes through
   the ADC's sinc^3 decimation filter (aliasing as on the real board); other rates are generated
   directly (an ideal amplifier band-limited to the muscle's band);
6. the amplifier noise floor is added at the output rate, then railing and the ADC's range.

Sample ``k`` of the output is at ``k / fs_hz`` seconds; the sinc^3 filter centres it about 2 ms
earlier (ADS1299 at 250 Hz), which the ground truth reports as ``adc_centre_offset_s``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emg.acquire.boards import GANGLION_RAIL_UV, cyton_rail_uv
from emg.errors import ConfigError
from emg.simulation.artefacts import (
    EVENT_KINDS,
    ArtefactConfig,
    ArtefactEvent,
    ecg_beats,
    motion_waveform,
)
from emg.simulation.decimation import SincDecimator
from emg.simulation.kernels import add_scaled_noise, combine_emg, one_pole_filter, warm_up
from emg.simulation.noise import ShapedNoise
from emg.simulation.params import MIN_FS_HZ, PatientPreset, load_preset
from emg.simulation.patient import PatientModel
from emg.simulation.spectrum import board_power_fraction

log = logging.getLogger(__name__)

#: the ADC's internal rate as a multiple of its output rate in the model
OVERSAMPLE = 16
#: ADC limit (uV) of the Cyton at its default gain 24 (the Ganglion's is boards.GANGLION_RAIL_UV)
CYTON_RAIL_UV = cyton_rail_uv(24)


@dataclass(frozen=True)
class BoardModel:
    """How the board digitises: output rate, internal generation rate, decimation filter, range."""

    name: str
    fs_hz: float
    fs_gen_hz: float
    boxcar: int  # ADC sinc boxcar length in generation samples (0: no decimation filter)
    factor: int  # generation samples per output sample
    rail_uv: float | None
    order: int = 3

    @property
    def decimation(self) -> str:
        return f"sinc{self.order}" if self.boxcar else "none"

    def describe(self) -> str:
        if not self.boxcar:
            return f"{self.fs_hz:g} Hz, generated directly (ideal amplifier, no aliasing)"
        adc = self.fs_gen_hz / self.boxcar
        extra = f", every {self.factor // self.boxcar}th ADC sample kept" if self.factor != self.boxcar else ""
        return (
            f"{self.fs_hz:g} Hz {self.name}: generated at {self.fs_gen_hz:g} Hz, ADC sinc^{self.order} "
            f"decimation to {adc:g} SPS{extra}"
        )


def board_model(fs_hz: float, decimation: str = "auto", rail_uv: float | None = None) -> BoardModel:
    """The board model for an output rate.

    ``decimation``: ``"auto"`` (sinc^3 for the OpenBCI rates 250, 200 and 125 Hz, none otherwise),
    ``"sinc3"`` (an ADS1299-style ADC at ``fs_hz`` whatever the rate) or ``"none"``.
    """
    try:
        fs = float(fs_hz)
    except (TypeError, ValueError):
        raise ConfigError(f"--fs {fs_hz!r} is not a number; give the sampling rate in Hz (e.g. 250 or 1000)") from None
    if not math.isfinite(fs) or fs < MIN_FS_HZ:
        raise ConfigError(
            f"sampling rate fs_hz = {fs_hz!r} is too low; EMG needs at least {MIN_FS_HZ:g} Hz "
            "(OpenBCI boards: 250 Cyton, 200 Ganglion, 125 Cyton+Daisy)"
        )
    if fs > 20000:
        raise ConfigError(f"sampling rate fs_hz = {fs_hz!r} is above 20000 Hz; give at most 20000")
    if decimation not in ("auto", "sinc3", "none"):
        raise ConfigError(f"decimation {decimation!r} is unknown; use auto, sinc3 or none")
    if decimation == "auto":
        if fs == 250.0:
            return BoardModel("cyton", fs, fs * OVERSAMPLE, OVERSAMPLE, OVERSAMPLE, rail_uv or CYTON_RAIL_UV)
        if fs == 200.0:
            return BoardModel("ganglion", fs, fs * OVERSAMPLE, OVERSAMPLE, OVERSAMPLE, rail_uv or GANGLION_RAIL_UV)
        if fs == 125.0:
            return BoardModel(
                "cyton-daisy", fs, 250.0 * OVERSAMPLE, OVERSAMPLE, 2 * OVERSAMPLE, rail_uv or CYTON_RAIL_UV
            )
        return BoardModel("ideal", fs, fs, 0, 1, rail_uv)
    if decimation == "sinc3":
        return BoardModel("sinc3-adc", fs, fs * OVERSAMPLE, OVERSAMPLE, OVERSAMPLE, rail_uv or CYTON_RAIL_UV)
    return BoardModel("ideal", fs, fs, 0, 1, rail_uv)


@dataclass
class SimChunk:
    """A chunk of simulated samples (output rate) with its ground truth.

    ``exg_uv`` (C, n) what the board delivers; ``accel_g`` (3, n); ``activation`` (C, n) float32,
    drive as a fraction of the channel's muscle reference (0 on channels with no muscle);
    ``dropped`` (n,) True for samples lost in transmission; ``first_sample`` index of the first
    sample since start. At the slow truth rate (every ``slow_step``-th sample of the whole run,
    starting with slow sample ``slow_first``): ``emg_rms_uv`` (C, m) the expected EMG RMS at the
    electrodes (crosstalk included, before the board filter, without noise or artefacts),
    ``median_hz`` and ``fatigue_s`` (C, m) of the channel's muscle.
    """

    exg_uv: np.ndarray
    accel_g: np.ndarray
    activation: np.ndarray
    emg_rms_uv: np.ndarray
    median_hz: np.ndarray
    fatigue_s: np.ndarray
    dropped: np.ndarray
    first_sample: int
    slow_first: int = -1


@dataclass
class _LiveEvent:
    event: ArtefactEvent
    g_start: int
    g_end: int
    k_start: int
    k_end: int
    g_effect_end: int  # generation sample after which it changes nothing
    cache: dict = field(default_factory=dict)
    logged: bool = False


class Simulator:
    """A simulated recording, produced chunk by chunk (any chunking gives the same samples).

    ``patient``: a preset name, TOML path or :class:`PatientPreset`. ``fs_hz``: output rate.
    ``n_channels``: channels delivered (>= the preset's muscles; extra channels carry noise and
    mains only); default: the muscles. ``artefacts``: :class:`ArtefactConfig`. ``seed``: makes
    everything reproducible. ``session``, ``fatigue``, ``tremor``, ``cocontraction``: see
    :class:`PatientModel`. ``band_hz``: override every muscle's EMG band. ``accel_sway_g``:
    override the patient's postural sway.
    """

    def __init__(
        self,
        patient: PatientPreset | str = "healthy",
        *,
        fs_hz: float = 1000.0,
        n_channels: int | None = None,
        artefacts: ArtefactConfig | None = None,
        seed: int | None = None,
        session: int = 0,
        fatigue: bool | None = None,
        tremor: bool | None = None,
        cocontraction: bool = True,
        decimation: str = "auto",
        rail_uv: float | None = None,
        band_hz: tuple[float, float] | None = None,
        accel_sway_g: float | None = None,
    ) -> None:
        self.preset = load_preset(patient)
        self.board = board_model(fs_hz, decimation, rail_uv)
        warm_up()  # load the Numba kernels now, not on the first (live) read
        self.fs_hz = self.board.fs_hz
        self.factor = self.board.factor
        self.artefacts = (artefacts or ArtefactConfig()).validate()
        muscles = self.preset.muscles
        self.n_muscles = len(muscles)
        c = self.n_muscles if n_channels is None else int(n_channels)
        if c < self.n_muscles:
            raise ConfigError(
                f"n_channels = {c} is fewer than the patient's {self.n_muscles} muscles "
                f"({', '.join(m.name for m in muscles)}); give at least {self.n_muscles}"
            )
        if c > 16:
            raise ConfigError(f"n_channels = {c} is above 16; the largest board (Cyton+Daisy) has 16")
        self.n_channels = c
        self.seed = seed
        ss = np.random.SeedSequence(seed)
        self.seed_entropy = ss.entropy
        s_patient, s_noise, s_floor, s_accel, s_art, s_mains = ss.spawn(6)
        # the drive is computed at about 1 kHz (or the generation rate if lower) and held
        q = 1
        while self.board.factor % (2 * q) == 0 and self.board.fs_gen_hz / (2 * q) >= 1000.0:
            q *= 2
        self._drive_q = q
        self.patient = PatientModel(
            self.preset,
            self.board.fs_gen_hz / q,
            seed=s_patient,
            session=session,
            fatigue=fatigue,
            tremor=tremor,
            cocontraction=cocontraction,
        )
        self.preset = self.patient.preset  # with the session-to-session change applied
        self.fatigue_on = self.patient.fatigue_on
        nyq_gen = self.board.fs_gen_hz / 2.0
        bands = []
        for m in muscles:
            lo, hi = band_hz if band_hz is not None else m.band_hz
            if band_hz is not None and hi >= nyq_gen:
                raise ConfigError(
                    f"band_hz high edge {hi:g} Hz is above the Nyquist frequency ({nyq_gen:g} Hz) "
                    f"at {self.fs_hz:g} Hz; give a band below {nyq_gen:g} Hz or raise --fs"
                )
            if lo >= nyq_gen:
                raise ConfigError(
                    f"muscle {m.name!r}: band_hz = [{lo:g}, {hi:g}] lies above the Nyquist frequency "
                    f"({nyq_gen:g} Hz) at {self.fs_hz:g} Hz; raise --fs or lower the band"
                )
            if hi > 0.9 * nyq_gen:
                log.info(
                    "muscle %s: band %g-%g Hz capped at %g Hz (amplifier anti-aliasing at %g Hz)",
                    m.name,
                    lo,
                    hi,
                    0.9 * nyq_gen,
                    self.fs_hz,
                )
                hi = 0.9 * nyq_gen
            if not lo < m.median_hz < hi:
                raise ConfigError(
                    f"muscle {m.name!r}: median_hz = {m.median_hz:g} is outside its band "
                    f"[{lo:g}, {hi:g}] Hz at {self.fs_hz:g} Hz; raise --fs or lower median_hz"
                )
            bands.append((float(lo), float(hi)))
        self.bands = bands
        self.median0 = np.array([m.median_hz for m in muscles], dtype=np.float64)
        self.reference_uv = np.array([m.reference_uv for m in muscles], dtype=np.float64)
        fat = self.preset.fatigue
        self._mdf_rate = fat.median_rate_hz_per_s if self.fatigue_on else 0.0
        self._amp_rate = fat.amplitude_rate_pct_per_s / 100.0 if self.fatigue_on else 0.0
        self.mdf_floor = fat.min_median_fraction * self.median0
        self.noise = ShapedNoise(
            self.board.fs_gen_hz,
            list(self.median0),
            bands,
            s_noise.spawn(self.n_muscles),
            min_fraction=min(0.99, fat.min_median_fraction),
        )
        # crosstalk: channel c gets crosstalk_m x muscle m's EMG for |c - m| == 1
        mix = np.zeros((c, self.n_muscles))
        for i, m in enumerate(muscles):
            mix[i, i] = 1.0
            for j in (i - 1, i + 1):
                if 0 <= j < c and m.crosstalk > 0:
                    mix[j, i] = m.crosstalk
        self.mix = mix
        rows, cols = np.nonzero(mix)
        self._mix_rows = rows.astype(np.int64)
        self._mix_cols = cols.astype(np.int64)
        self._mix_vals = mix[rows, cols].astype(np.float64)
        self.noise_floor_uv = np.array([muscles[min(i, self.n_muscles - 1)].noise_floor_uv for i in range(c)])
        self.floor_rngs = [np.random.default_rng(s) for s in s_floor.spawn(c)]
        self.decimator = (
            SincDecimator(c, self.board.boxcar, factor=self.factor, order=self.board.order)
            if self.board.boxcar
            else None
        )
        # accelerometer sway: one-pole low-pass noise per axis
        acc = self.preset.accel
        self.sway_g = acc.sway_g if accel_sway_g is None else float(accel_sway_g)
        if self.sway_g < 0:
            raise ConfigError(f"accel sway_g = {self.sway_g} is impossible; it must be >= 0")
        s_sway, s_acc_noise = s_accel.spawn(2)
        self._accel_rng = np.random.default_rng(s_sway)
        self._accel_noise_rng = np.random.default_rng(s_acc_noise)
        self._sway_alpha = math.exp(-2 * math.pi * acc.sway_hz / self.fs_hz)
        self._sway_state = self._accel_rng.normal(0.0, 1.0, 3) * self.sway_g * np.array([1.0, 1.0, 0.3])
        # mains coupling per channel
        mrng = np.random.default_rng(s_mains)
        self.mains_gain = mrng.uniform(0.6, 1.4, c)
        self._mains_phase = mrng.uniform(0, 2 * np.pi, (c, len(self.artefacts.mains.harmonics)))
        # ECG
        self._ecg_rng = np.random.default_rng(s_art.spawn(1)[0])
        self.ecg_gain = self._ecg_gains()
        self._next_beat_s = float(self._ecg_rng.uniform(0.1, 60.0 / self.artefacts.ecg.heart_rate_bpm))
        self._beats: list[float] = []
        self.ecg_r_peaks_s: list[float] = []
        # events
        self._art_entropy = s_art.entropy
        self._events: list[_LiveEvent] = []
        self._random_windows_done = -1
        for ev in self.artefacts.events:
            self._add_event(ev)
        self.artefact_log: list[dict[str, Any]] = []
        self.dropped_samples: list[int] = []
        #: truth that changes slowly (median, fatigue, expected RMS) is kept every slow_step samples (~100 Hz)
        self.slow_step = max(1, int(self.fs_hz // 100))
        self.k = 0  # output samples produced
        self.g = 0  # generation samples produced
        self.power_fraction = np.array(
            [
                board_power_fraction(m.median_hz, b, self.fs_hz if self.board.boxcar else None)
                for m, b in zip(muscles, bands, strict=False)
            ]
        )
        if self.board.boxcar and self.factor != self.board.boxcar:  # Daisy: the ADC runs at 250 SPS
            adc = self.board.fs_gen_hz / self.board.boxcar
            self.power_fraction = np.array(
                [board_power_fraction(m.median_hz, b, adc) for m, b in zip(muscles, bands, strict=False)]
            )

    # ------------------------------------------------------------------------------ properties
    @property
    def time_s(self) -> float:
        return self.k / self.fs_hz

    @property
    def adc_centre_offset_s(self) -> float:
        """Where the board filter centres an output sample relative to its time (negative: earlier)."""
        if not self.decimator:
            return 0.0
        return ((self.factor - 1) - self.decimator.delay_in_samples) / self.board.fs_gen_hz

    def channel_names(self) -> list[str]:
        return [m.name for m in self.preset.muscles] + [f"ch{i + 1}" for i in range(self.n_muscles, self.n_channels)]

    def set_cue(self, cue: Any) -> None:
        """Pass a drill cue to the patient (it acts after its reaction time)."""
        self.patient.set_cue(cue)

    # ------------------------------------------------------------------------------ artefacts
    def _ecg_gains(self) -> np.ndarray:
        e = self.artefacts.ecg
        gains = np.zeros(self.n_channels)
        if not e.enabled:
            return gains
        if e.channels is not None:
            for ch in e.channels:
                if not 0 <= ch < self.n_channels:
                    raise ConfigError(f"artefacts.ecg.channels has {ch}; channels are 0-{self.n_channels - 1}")
                gains[ch] = (
                    e.amplitude_uv
                    if e.amplitude_uv is not None
                    else (self.preset.muscles[ch].ecg_uv if ch < self.n_muscles else 0.0) or 150.0
                )
        else:
            for i, m in enumerate(self.preset.muscles):
                gains[i] = m.ecg_uv if e.amplitude_uv is None else (e.amplitude_uv if m.ecg_uv > 0 else 0.0)
            if not gains.any():
                gains[:] = e.amplitude_uv if e.amplitude_uv is not None else 150.0
        return gains

    def _add_event(self, ev: ArtefactEvent) -> None:
        ev.validate()
        for ch in ev.channels:
            if not 0 <= ch < self.n_channels:
                raise ConfigError(
                    f"artefact {ev.kind} at {ev.time_s:g} s: channel {ch} does not exist; "
                    f"channels are 0-{self.n_channels - 1}"
                )
        start, end = ev.span_s()
        k0 = int(round(start * self.fs_hz))
        k1 = int(round(end * self.fs_hz))
        if ev.kind == "dropped":
            k1 = k0 + int(ev.packets)
        if ev.kind in ("motion", "lead_off", "railing") and k1 <= k0:
            k1 = k0 + 1
        g_end = k1 * self.factor
        effect_end = g_end
        if ev.kind == "pop":
            effect_end = k0 * self.factor + int(math.ceil(8 * ev.decay_s * self.board.fs_gen_hz))
        self._events.append(_LiveEvent(ev, k0 * self.factor, g_end, k0, k1, max(effect_end, g_end)))

    def _schedule_random(self, upto_s: float) -> None:
        rates = self.artefacts.random_per_min
        if not rates:
            return
        last_window = int(upto_s // 60.0)
        while self._random_windows_done < last_window:
            w = self._random_windows_done + 1
            for ki, kind in enumerate(EVENT_KINDS):
                rate = rates.get(kind, 0.0)
                if rate <= 0:
                    continue
                rng = np.random.default_rng([self._art_entropy % (2**63), w, ki])
                count = rng.poisson(rate)
                for t in np.sort(rng.uniform(0.0, 60.0, count)):
                    ch = int(rng.integers(0, max(1, self.n_muscles)))
                    ev = ArtefactEvent(
                        kind=kind, time_s=60.0 * w + float(t), channels=(ch,), level=int(rng.choice([-1, 1]))
                    )
                    if kind == "lead_off":
                        ev.duration_s = float(rng.uniform(1.0, 4.0))
                    self._add_event(ev)
            self._random_windows_done = w

    def _log_event(self, le: _LiveEvent) -> None:
        if le.logged:
            return
        le.logged = True
        ev = le.event
        entry = {
            "kind": ev.kind,
            "channels": list(ev.channels),
            "start_s": le.k_start / self.fs_hz,
            "end_s": le.k_end / self.fs_hz,
            "start_sample": le.k_start,
            "end_sample": le.k_end,
            "amplitude_uv": ev.amplitude_uv,
        }
        if ev.kind == "pop":
            entry["decay_s"] = ev.decay_s
        if ev.kind == "dropped":
            entry["packets"] = int(ev.packets)
        if ev.kind == "railing":
            entry["level"] = ev.level
        if ev.kind == "motion":
            entry["accel_g"] = ev.accel_g
        self.artefact_log.append(entry)

    def _event_rng(self, le: _LiveEvent) -> np.random.Generator:
        return np.random.default_rng([self._art_entropy % (2**63), le.k_start, EVENT_KINDS.index(le.event.kind), 7])

    def _apply_electrode_events(self, x: np.ndarray, g0: int, accel_jolt: np.ndarray, k0: int) -> None:
        """Motion, pop and lead-off, added at the generation rate to x (C, n_gen) starting at sample g0."""
        n = x.shape[1]
        g1 = g0 + n
        fs = self.board.fs_gen_hz
        for le in self._events:
            ev = le.event
            if ev.kind not in ("motion", "pop", "lead_off"):
                continue
            end = le.g_effect_end
            if end <= g0 or le.g_start >= g1:
                continue
            self._log_event(le)
            lo, hi = max(le.g_start, g0), min(end, g1)
            sl = slice(lo - g0, hi - g0)
            if "wave" not in le.cache:
                rng = self._event_rng(le)
                length = end - le.g_start
                if ev.kind == "motion":
                    le.cache["wave"] = motion_waveform(length, fs, rng) * ev.amplitude_uv
                    d = rng.normal(0, 1, 3)
                    le.cache["dir"] = d / np.linalg.norm(d)
                elif ev.kind == "pop":
                    t = np.arange(length) / fs
                    le.cache["wave"] = ev.amplitude_uv * np.exp(-t / ev.decay_s) * rng.choice([-1.0, 1.0])
                else:  # lead_off: floating input, big hum and a wandering offset
                    t = (le.g_start + np.arange(length)) / fs
                    f0 = self.artefacts.mains.frequency_hz
                    hum = np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(2 * np.pi * 3 * f0 * t)
                    drift = np.cumsum(rng.normal(0, 1, length))
                    drift -= np.linspace(0, drift[-1], length)
                    drift *= 0.5 / (np.max(np.abs(drift)) + 1e-12)
                    le.cache["wave"] = ev.amplitude_uv * (hum + drift)
            wave = le.cache["wave"][lo - le.g_start : hi - le.g_start]
            for ch in ev.channels:
                if ev.kind == "lead_off":
                    x[ch, sl] = wave
                else:
                    x[ch, sl] += wave
            if ev.kind == "motion" and ev.accel_g > 0:
                # accelerometer at the output rate: the same transient's envelope, decimated by picking
                kk = np.arange(max(le.k_start, k0), min(le.k_end, k0 + accel_jolt.shape[1]))
                if len(kk):
                    full = le.cache["wave"] / max(ev.amplitude_uv, 1e-12)
                    idx = np.clip((kk - le.k_start) * self.factor, 0, len(full) - 1)
                    accel_jolt[:, kk - k0] += ev.accel_g * le.cache["dir"][:, None] * full[idx][None, :]

    def mains(self, g0: int, n: int) -> np.ndarray:
        """Mains interference (C, n) in uV for generator samples g0 .. g0 + n (fundamental and harmonics)."""
        m = self.artefacts.mains
        t = (g0 + np.arange(n)) / self.board.fs_gen_hz
        basis = []
        coef = []
        for h, rel in enumerate(m.harmonics, start=1):
            # an ideal amplifier's anti-aliasing filter removes harmonics above Nyquist; a board's
            # ADC sees everything below the generation rate's Nyquist (and aliases it)
            if rel == 0 or h * m.frequency_hz >= 0.5 * self.board.fs_gen_hz:
                continue
            ph = (2 * np.pi * h * m.frequency_hz) * t
            basis += [np.sin(ph), np.cos(ph)]
            amp = m.amplitude_uv * rel * self.mains_gain
            phi = self._mains_phase[:, h - 1]
            coef += [amp * np.cos(phi), amp * np.sin(phi)]  # sin(ph + phi) = sin ph cos phi + cos ph sin phi
        if not basis:
            return np.zeros((self.n_channels, n))
        return np.stack(coef, axis=1) @ np.stack(basis)

    def _ecg(self, g0: int, n: int) -> np.ndarray:
        e = self.artefacts.ecg
        fs = self.board.fs_gen_hz
        t = (g0 + np.arange(n)) / fs
        t_end = t[-1] if n else g0 / fs
        period = 60.0 / e.heart_rate_bpm
        while self._next_beat_s < t_end + 0.5:
            self._beats.append(self._next_beat_s)
            self.ecg_r_peaks_s.append(self._next_beat_s)
            self._next_beat_s += max(0.25, period + float(self._ecg_rng.normal(0, e.hrv_sd_s)))
        self._beats = [b for b in self._beats if b > t[0] - 0.5] if n else self._beats
        wave = ecg_beats(t, np.array(self._beats))
        return self.ecg_gain[:, None] * wave[None, :]

    # ------------------------------------------------------------------------------ generation
    def generate(self, n: int) -> SimChunk:
        """The next ``n`` output samples."""
        n = int(n)
        if n < 0:
            raise ValueError("n must be >= 0")
        k0, g0 = self.k, self.g
        f = self.factor
        n_gen = n * f
        self._schedule_random((k0 + n) / self.fs_hz)
        q = self._drive_q
        a, fat = self.patient.step(n_gen // q)  # at the drive rate (fs_gen / q)
        if self._mdf_rate:
            median = np.maximum(self.median0[:, None] - self._mdf_rate * fat, self.mdf_floor[:, None])
            src = self.noise.read(n_gen, np.repeat(median, q, axis=1) if q > 1 else median)  # float32
        else:
            median = np.broadcast_to(self.median0[:, None], fat.shape)
            src = self.noise.read(n_gen, None)
        x = np.zeros((self.n_channels, n_gen))
        combine_emg(
            src, a, fat, q, self.reference_uv, self._amp_rate, self._mix_rows, self._mix_cols, self._mix_vals, x
        )
        if self.artefacts.mains.enabled:
            x += self.mains(g0, n_gen)
        if self.artefacts.ecg.enabled and self.ecg_gain.any():
            x += self._ecg(g0, n_gen)
        accel_jolt = np.zeros((3, n))
        self._apply_electrode_events(x, g0, accel_jolt, k0)
        y = self.decimator.process(x) if self.decimator else x
        floor = np.empty((self.n_channels, n), dtype=np.float32)
        for c in range(self.n_channels):
            floor[c] = self.floor_rngs[c].standard_normal(n, dtype=np.float32)
        add_scaled_noise(y, floor, self.noise_floor_uv)
        dropped = np.zeros(n, dtype=bool)
        for le in self._events:
            ev = le.event
            if ev.kind not in ("railing", "dropped") or le.k_end <= k0 or le.k_start >= k0 + n:
                continue
            self._log_event(le)
            sl = slice(max(le.k_start, k0) - k0, min(le.k_end, k0 + n) - k0)
            if ev.kind == "railing":
                rail = self.board.rail_uv or CYTON_RAIL_UV
                for ch in ev.channels:
                    y[ch, sl] = ev.level * rail
            else:
                dropped[sl] = True
        if self.board.rail_uv:
            np.clip(y, -self.board.rail_uv, self.board.rail_uv, out=y)
        self._events = [le for le in self._events if le.g_effect_end > self.g + n_gen]
        self.dropped_samples.extend((np.flatnonzero(dropped) + k0).tolist())
        # accelerometer
        acc = self.preset.accel
        al = self._sway_alpha
        w = self._accel_rng.standard_normal((n, 3)).T * (self.sway_g * np.array([1.0, 1.0, 0.3]))[:, None]
        w *= math.sqrt((1 + al) / (1 - al))
        sway = one_pole_filter(w, al, self._sway_state)  # updates the state
        accel = np.asarray(acc.gravity_g, dtype=np.float64)[:, None] + sway + accel_jolt
        if acc.noise_g > 0:
            accel += self._accel_noise_rng.standard_normal((n, 3)).T * acc.noise_g
        # truth at the output samples' instants: activation for every sample, the rest at slow_step
        act = np.zeros((self.n_channels, n), dtype=np.float32)
        dsel = np.arange(n) * f // q  # drive-rate index of each output sample
        act[: self.n_muscles] = a[:, dsel] if f > 1 or q > 1 else a
        step = self.slow_step
        sel = np.arange((-k0) % step, n, step)
        gsel = sel * f // q
        amp_s = self.reference_uv[:, None] * a[:, gsel] * (1.0 + self._amp_rate * fat[:, gsel])
        rms = np.sqrt((self.mix**2) @ (amp_s**2))
        med = np.zeros((self.n_channels, len(sel)))
        med[: self.n_muscles] = median[:, gsel]
        fz = np.zeros((self.n_channels, len(sel)))
        fz[: self.n_muscles] = fat[:, gsel]
        self.k += n
        self.g += n_gen
        return SimChunk(y, accel, act, rms, med, fz, dropped, k0, (k0 + int(sel[0])) // step if len(sel) else -1)
