"""The standard assessment protocol: the same five phases every session, so sessions compare.

Phases (``phase_start {name, index, duration_s}`` / ``phase_end {name, index}``), after the clinical
assessment scripts (MyoTrac Infiniti, the pelvic-floor scripts with quick and endurance contractions;
defaults and sources in ``feedback/drills/assessment.toml`` and docs/DRILLS.md):

1. ``pre_baseline``: rest (cue ``rest`` "REST: stay relaxed"); mean, SD and peak of the resting level.
2. ``quick``: ``reps`` quick contractions: ``contract`` "QUICK: squeeze hard, let go" for ``contract_s``,
   then ``relax`` for ``rest_s``. Per rep: peak, time to peak, onset (cue -> ``onset_fraction`` x the
   rep's peak), release (relax cue -> below ``release_fraction`` x the peak). Success: the peak reached
   the band's low edge (the work threshold).
3. ``holds``: ``reps`` x (``work_s`` hold in ``band_pct`` / ``rest_s`` relax). The cue is ``contract``
   until the level first enters the band, then ``hold``. Per rep (Nu-Tek / MyoTrac report statistics):
   work and rest mean, SD and peak without the first ``exclude_s`` of each, onset (cue -> ``onset_fraction``
   x the previous rep's work mean; rep 1: x the band's low edge), release (relax cue -> below
   ``release_fraction`` x this rep's work mean), each flagged when longer than ``slow_s``; time in band.
   Success: in the band for at least ``in_band_fraction`` of the clean work samples after ``exclude_s``.
4. ``endurance``: one hold of ``duration_s`` (cue ``hold``): mean, SD, time in band, the first and last
   10 s means and their decline, the slope of the level (%/s). Success as for a hold.
5. ``post_baseline``: rest, as the pre-baseline.

A rep with at least ``[gating] void_after_s`` of flagged samples in its work time is *void*. Reps are numbered per phase
(``set`` 1 = quick, 2 = holds, 3 = endurance). ``rep_end`` comes at the end of the rep's rest (quick,
holds: the release is measured there) or of the endurance hold; ``success``/``failure`` at the end of the
work. Timing rests on sample counts (the drill clock), never on the wall clock: the same activation gives
the same events, whatever the chunking. The therapist may move the band
(``Drill.shift_band``), which is recorded; a moved band makes the session less comparable with the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from feedback import events as ev
from feedback.drill_base import Drill
from feedback.drill_config import MAX_BAND_PCT, DrillConfig

EPS = 1e-9
PHASES = ("pre_baseline", "quick", "holds", "endurance", "post_baseline")
#: what the patient reads during the rest baselines
REST_TEXT = "REST: stay relaxed"
QUICK_TEXT = "QUICK: squeeze hard, let go"
#: the window at each end of the endurance hold whose means give its decline (s)
ENDURANCE_WINDOW_S = 10.0
PHASE_TITLES = {
    "pre_baseline": "Rest baseline",
    "quick": "Quick contractions",
    "holds": "Holds",
    "endurance": "Endurance hold",
    "post_baseline": "Rest baseline (after)",
}


def _r(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def _stats(values: list[float]) -> dict[str, float | None]:
    """``mean_pct``, ``sd_pct``, ``peak_pct`` of clean samples (None when there are none)."""
    if not values:
        return {"mean_pct": None, "sd_pct": None, "peak_pct": None}
    a = np.asarray(values, dtype=np.float64)
    return {"mean_pct": _r(float(a.mean())), "sd_pct": _r(float(a.std())), "peak_pct": _r(float(a.max()))}


@dataclass
class Segment:
    """One stretch of the protocol: ``kind`` is ``baseline``, ``quick``, ``quick_rest``, ``hold``,
    ``hold_rest`` or ``endurance``; ``rep`` is 1-based within its phase (0 for a baseline)."""

    phase: str
    index: int
    kind: str
    rep: int
    duration_s: float


class AssessmentDrill(Drill):
    """Pre-baseline, quick contractions, holds, an endurance hold and a post-baseline (see the module doc)."""

    kind = "assessment"

    def __init__(
        self, config: DrillConfig, *, fs_hz: float, n_channels: int, channel_names: list[str] | None = None
    ) -> None:
        super().__init__(config, fs_hz=fs_hz, n_channels=n_channels, channel_names=channel_names)
        p = config.params
        t, sc = p["target"], p["scoring"]
        self.band_pct: tuple[float, float] = (float(t["band_pct"][0]), float(t["band_pct"][1]))
        self.rest_threshold_pct = float(t["rest_threshold_pct"])
        self.quick_target_pct = float(p["quick"]["target_pct"])
        self.exclude_s = float(sc["exclude_s"])
        self.onset_fraction = float(sc["onset_fraction"])
        self.release_fraction = float(sc["release_fraction"])
        self.slow_s = float(sc["slow_s"])
        self.in_band_fraction = float(sc["in_band_fraction"])
        self.flash_s = float(p["protocol"]["success_flash_s"])
        self.segments = self._schedule(p)
        self.phase_reps = {"quick": int(p["quick"]["reps"]), "holds": int(p["holds"]["reps"]), "endurance": 1}
        self.reps_planned = sum(self.phase_reps.values())
        self.results: list[dict[str, Any]] = []
        self.phases: list[dict[str, Any]] = []
        self.attempted = self.succeeded = self.voided = 0
        self.set_index = 0
        self.rep = 0
        self._seg_i = -1
        self._seg_t = 0.0
        self._acc: dict[str, Any] = {}
        self._open: dict[str, Any] | None = None  # the rep whose rest is still running
        self._phase_acc: dict[str, Any] = {}
        self._prev_work_mean: float | None = None
        self.state.reps_planned = self.reps_planned

    # ---- the protocol ----------------------------------------------------------------------
    @staticmethod
    def _schedule(p: dict[str, Any]) -> list[Segment]:
        q, h = p["quick"], p["holds"]
        segs = [Segment("pre_baseline", 0, "baseline", 0, float(p["pre_baseline"]["duration_s"]))]
        for k in range(1, int(q["reps"]) + 1):
            segs += [
                Segment("quick", 1, "quick", k, float(q["contract_s"])),
                Segment("quick", 1, "quick_rest", k, float(q["rest_s"])),
            ]
        for k in range(1, int(h["reps"]) + 1):
            segs += [
                Segment("holds", 2, "hold", k, float(h["work_s"])),
                Segment("holds", 2, "hold_rest", k, float(h["rest_s"])),
            ]
        segs.append(Segment("endurance", 3, "endurance", 1, float(p["endurance"]["duration_s"])))
        segs.append(Segment("post_baseline", 4, "baseline", 0, float(p["post_baseline"]["duration_s"])))
        return segs

    def protocol_duration_s(self) -> float:
        """The whole protocol's length (s), without pauses."""
        return float(sum(s.duration_s for s in self.segments))

    def _resolve_channels(self) -> list[int]:
        return [self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)]

    @property
    def segment(self) -> Segment | None:
        return self.segments[self._seg_i] if 0 <= self._seg_i < len(self.segments) else None

    # ---- engine ----------------------------------------------------------------------------
    def _start(self, t: float) -> None:
        self._goal_state()
        self._enter(t, 0)

    def _step(self, t: float, values: list[float] | None, gated: bool) -> None:
        seg = self.segment
        while seg is not None and t - self._seg_t >= seg.duration_s - EPS:
            self._leave(t)
            if self.finished:
                return
            self._enter(t, self._seg_i + 1)
            seg = self.segment
        if seg is None or values is None:
            return
        self._sample(t - self._seg_t, values[0], gated)

    def _enter(self, t: float, i: int) -> None:
        self._seg_i, self._seg_t = i, t
        seg = self.segments[i]
        first_of_phase = i == 0 or self.segments[i - 1].phase != seg.phase
        if first_of_phase:
            duration = sum(s.duration_s for s in self.segments if s.phase == seg.phase)
            self._emit(ev.PHASE_START, t, name=seg.phase, index=seg.index, duration_s=_r(duration))
            self._phase_acc = {"name": seg.phase, "index": seg.index, "start_s": t + self._offset_s}
            if seg.kind != "baseline":
                self.set_index = seg.index
                self.rep = 0
                self.state.set_index = seg.index
                self.state.reps_total = self.phase_reps[seg.phase]
        self._acc = {"values": [], "tau": [], "clean": 0, "gated": 0}
        if seg.kind == "baseline":
            self._set_cue(t, "rest", REST_TEXT, target_pct=0.0)
        elif seg.kind == "quick":
            self._begin_rep(t, seg)
            self._set_cue(t, "contract", QUICK_TEXT, target_pct=self.quick_target_pct)
        elif seg.kind in ("hold", "endurance"):
            self._begin_rep(t, seg)
            self._acc.update(entered=False, in_band=0, counted=0, run=0, best_run=0)
            if seg.kind == "hold":
                self._set_cue(t, "contract", "CONTRACT", target_pct=self._centre(), band_pct=self.band_pct)
            else:
                self._set_cue(t, "hold", "HOLD", target_pct=self._centre(), band_pct=self.band_pct)
        else:  # the rest after a quick contraction or a hold: release measured here
            self._set_cue(t, "relax", "RELAX", target_pct=0.0)
            self._acc["release"] = None
        self.state.message = self._message(seg)

    def _begin_rep(self, t: float, seg: Segment) -> None:
        self.rep = seg.rep
        self.state.rep = seg.rep
        self.state.failure_reason = ""
        goal: dict[str, Any] = {"phase": seg.phase}
        if seg.kind == "quick":
            goal["threshold_pct"] = self.band_pct[0]
        else:
            goal["band_pct"] = [self.band_pct[0], self.band_pct[1]]
        self._emit(ev.REP_START, t, set=self.set_index, rep=seg.rep, **goal)
        self._open = {"set": self.set_index, "rep": seg.rep, **goal, "cue_time_s": _r(t + self._offset_s)}

    def _sample(self, tau: float, v: float, gated: bool) -> None:
        a = self._acc
        if gated or not math.isfinite(v):
            a["gated"] += 1
            return
        a["clean"] += 1
        a["values"].append(v)
        a["tau"].append(tau)
        seg = self.segments[self._seg_i]
        if seg.kind in ("hold", "endurance"):
            inside = self.band_pct[0] <= v <= self.band_pct[1]
            a["run"] = a["run"] + 1 if inside else 0
            a["best_run"] = max(a["best_run"], a["run"])
            if tau >= self.exclude_s - EPS:
                a["counted"] += 1
                a["in_band"] += int(inside)
            if inside and not a["entered"]:
                a["entered"] = True
                if seg.kind == "hold":
                    t = self._seg_t + tau
                    self._set_cue(t, "hold", "HOLD", target_pct=self._centre(), band_pct=self.band_pct)
        elif seg.kind in ("quick_rest", "hold_rest") and a["release"] is None and self._open is not None:
            level = self._open.get("_release_level_pct")
            if level is not None and v < level:
                a["release"] = tau

    def _leave(self, t: float) -> None:
        """Close the running segment at ``t`` (its end): score it, close reps and phases."""
        seg = self.segments[self._seg_i]
        a = self._acc
        if seg.kind == "baseline":
            self._phase_acc.update(self._baseline_metrics())
        elif seg.kind == "quick":
            self._score_quick(t)
        elif seg.kind in ("hold", "endurance"):
            self._score_hold(t, seg)
            if seg.kind == "endurance":
                self._close_rep(t)
        else:
            rest = [v for v, tau in zip(a["values"], a["tau"], strict=True) if tau >= self.exclude_s - EPS]
            st = _stats(rest)
            if self._open is not None:
                release = a["release"]
                if self._open.get("_release_level_pct") is None:
                    release = None
                self._open.update(
                    {
                        "rest_mean_pct": st["mean_pct"],
                        "rest_sd_pct": st["sd_pct"],
                        "rest_peak_pct": st["peak_pct"],
                        "release_time_s": _r(release),
                        "release_slow": None if release is None else bool(release > self.slow_s + EPS),
                        "time_to_relax_s": _r(release),
                    }
                )
                self._close_rep(t)
        last_of_phase = self._seg_i + 1 >= len(self.segments) or self.segments[self._seg_i + 1].phase != seg.phase
        if last_of_phase:
            self._close_phase(t, seg)
            if self._seg_i + 1 >= len(self.segments):
                self._finish(t)

    def _baseline_metrics(self) -> dict[str, Any]:
        a = self._acc
        kept = [v for v, tau in zip(a["values"], a["tau"], strict=True) if tau >= self.exclude_s - EPS]
        total = a["clean"] + a["gated"]
        return {**_stats(kept), "clean_fraction": _r(a["clean"] / total) if total else None}

    def _result(self, passed: bool) -> str:
        a = self._acc
        if not a["clean"] or a["gated"] * self.dt_s >= self.void_after_s - EPS:
            return "void"
        return "success" if passed else "failure"

    def _score_quick(self, t: float) -> None:
        a, o = self._acc, self._open
        assert o is not None
        vals = a["values"]
        peak = max(vals) if vals else None
        time_to_peak = a["tau"][int(np.argmax(vals))] if vals else None
        onset = None
        if peak is not None and peak > 0:
            onset = next((tau for v, tau in zip(vals, a["tau"], strict=True) if v >= self.onset_fraction * peak), None)
        reaction = next((tau for v, tau in zip(vals, a["tau"], strict=True) if v >= self.rest_threshold_pct), None)
        result = self._result(peak is not None and peak >= self.band_pct[0])
        o.update(
            {
                "result": result,
                "peak_pct": _r(peak),
                "mean_pct": _r(float(np.mean(vals))) if vals else None,
                "time_to_peak_s": _r(time_to_peak),
                "reaction_time_s": _r(reaction),
                "onset_time_s": _r(onset),
                "onset_slow": None if onset is None else bool(onset > self.slow_s + EPS),
                "gated_s": _r(a["gated"] * self.dt_s),
                "clean_fraction": _r(a["clean"] / max(1, a["clean"] + a["gated"])),
                "_release_level_pct": self.release_fraction * peak if peak is not None and peak > 0 else None,
            }
        )
        reason = f"peak {peak:.0f} % stayed below {self.band_pct[0]:g} %" if peak is not None else "no clean samples"
        self._count_result(t, result, reason, o["gated_s"])

    def _score_hold(self, t: float, seg: Segment) -> None:
        a, o = self._acc, self._open
        assert o is not None
        vals, taus = a["values"], a["tau"]
        work = [v for v, tau in zip(vals, taus, strict=True) if tau >= self.exclude_s - EPS]
        st = _stats(work)
        fraction = a["in_band"] / a["counted"] if a["counted"] else 0.0
        previous = self._prev_work_mean if seg.kind == "hold" else None
        onset_level = self.onset_fraction * (previous if previous is not None and previous > 0 else self.band_pct[0])
        onset = next((tau for v, tau in zip(vals, taus, strict=True) if v >= onset_level), None)
        reaction = next((tau for v, tau in zip(vals, taus, strict=True) if v >= self.rest_threshold_pct), None)
        mean, sd = st["mean_pct"], st["sd_pct"]
        result = self._result(a["counted"] > 0 and fraction >= self.in_band_fraction - EPS)
        o.update(
            {
                "result": result,
                "work_mean_pct": mean,
                "work_sd_pct": sd,
                "work_peak_pct": st["peak_pct"],
                "mean_pct": mean,
                "peak_pct": st["peak_pct"],
                "steadiness_sd_pct": sd,
                "steadiness_cv_pct": _r(100.0 * sd / mean) if mean and sd is not None and mean > 0 else None,
                "in_band_fraction": _r(fraction) if a["counted"] else None,
                "time_in_band_s": _r(a["in_band"] * self.dt_s),
                "longest_in_band_s": _r(a["best_run"] * self.dt_s),
                "reaction_time_s": _r(reaction),
                "onset_level_pct": _r(onset_level),
                "onset_time_s": _r(onset),
                "onset_slow": None if onset is None else bool(onset > self.slow_s + EPS),
                "gated_s": _r(a["gated"] * self.dt_s),
                "clean_fraction": _r(a["clean"] / max(1, a["clean"] + a["gated"])),
                "_release_level_pct": self.release_fraction * mean if mean is not None and mean > 0 else None,
            }
        )
        if seg.kind == "hold":
            if mean is not None:
                self._prev_work_mean = mean
        else:
            o.update(self._endurance_metrics(work, [tau for tau in taus if tau >= self.exclude_s - EPS]))
        need = f"{100 * self.in_band_fraction:.0f} %"
        reason = f"in the band {100 * fraction:.0f} % of the time (needs {need})"
        self._count_result(t, result, reason, o["gated_s"])

    def _endurance_metrics(self, work: list[float], taus: list[float]) -> dict[str, Any]:
        if len(work) < 2:
            return {"first_mean_pct": None, "last_mean_pct": None, "decline_pct": None, "slope_pct_per_s": None}
        v, tau = np.asarray(work), np.asarray(taus)
        first = v[tau < tau[0] + ENDURANCE_WINDOW_S - EPS]
        last = v[tau > tau[-1] - ENDURANCE_WINDOW_S + EPS]
        f, la = float(first.mean()), float(last.mean())
        slope = float(np.polyfit(tau, v, 1)[0]) if np.ptp(tau) > 0 else 0.0
        return {
            "first_mean_pct": _r(f),
            "last_mean_pct": _r(la),
            "decline_pct": _r(100.0 * (f - la) / f) if f > 0 else None,
            "slope_pct_per_s": _r(slope),
        }

    def _close_rep(self, t: float) -> None:
        o, self._open = self._open, None
        if o is None:
            return
        metrics = {k: v for k, v in o.items() if not k.startswith("_")}
        metrics.setdefault("result", "void")
        for key in ("release_time_s", "release_slow", "time_to_relax_s"):
            metrics.setdefault(key, None)
        self.results.append(metrics)
        self._emit(ev.REP_END, t, **metrics)

    def _close_phase(self, t: float, seg: Segment) -> None:
        acc = self._phase_acc
        info: dict[str, Any] = {
            "name": seg.phase,
            "index": seg.index,
            "start_s": _r(acc.get("start_s")),
            "end_s": _r(t + self._offset_s),
        }
        if seg.kind == "baseline":
            info.update({k: v for k, v in acc.items() if k not in ("name", "index", "start_s")})
        else:
            info.update(self._phase_rep_summary(seg.phase))
        self.phases.append(info)
        self._emit(ev.PHASE_END, t, name=seg.phase, index=seg.index)

    def _phase_rep_summary(self, phase: str) -> dict[str, Any]:
        reps = [r for r in self.results if r.get("phase") == phase]
        judged = [r for r in reps if r["result"] != "void"]
        ok = sum(1 for r in judged if r["result"] == "success")

        def mean_of(key: str) -> float | None:
            vals = [r[key] for r in judged if r.get(key) is not None]
            return _r(float(np.mean(vals))) if vals else None

        def sd_of(key: str) -> float | None:
            vals = [r[key] for r in judged if r.get(key) is not None]
            return _r(float(np.std(vals, ddof=1))) if len(vals) > 1 else None

        out: dict[str, Any] = {
            "reps_planned": self.phase_reps[phase],
            "reps_attempted": len(reps),
            "reps_succeeded": ok,
            "reps_void": len(reps) - len(judged),
            "success_rate": _r(ok / len(judged)) if judged else None,
        }
        if phase == "endurance":
            keys = ("work_mean_pct", "work_sd_pct", "in_band_fraction", "onset_time_s", "first_mean_pct")
            keys += ("last_mean_pct", "decline_pct", "slope_pct_per_s")
            out.update({k: (judged[0].get(k) if judged else None) for k in keys})
            return out
        if phase == "quick":
            keys = ("peak_pct", "time_to_peak_s", "onset_time_s", "release_time_s")
            spread = "peak_pct"
        else:
            keys = ("work_mean_pct", "work_sd_pct", "rest_mean_pct", "in_band_fraction", "onset_time_s")
            keys += ("release_time_s",)
            spread = "work_mean_pct"
        for key in keys:
            out[f"mean_{key}"] = mean_of(key)
        out[f"rep_sd_{spread}"] = sd_of(spread)
        out["slow_onsets"] = sum(1 for r in judged if r.get("onset_slow"))
        out["slow_releases"] = sum(1 for r in judged if r.get("release_slow"))
        return out

    def _before_stop(self, t: float) -> None:
        seg = self.segment
        if seg is None:
            return
        if seg.kind in ("quick", "hold", "endurance") and self._open is not None and "result" not in self._open:
            self._open["result"] = "void"
            self._open["gated_s"] = _r(self._acc["gated"] * self.dt_s)
        self._close_rep(t)
        if seg.kind == "baseline":
            self._phase_acc.update(self._baseline_metrics())
        self._close_phase(t, seg)
        self._seg_i = len(self.segments)

    # ---- what the view and the therapist see ------------------------------------------------
    def _centre(self) -> float:
        return 0.5 * (self.band_pct[0] + self.band_pct[1])

    def _goal_state(self) -> None:
        ch = self.channels[0]
        self.state.bands_pct = {ch: self.band_pct}
        self.state.thresholds_pct = {ch: [self.rest_threshold_pct]}

    def _message(self, seg: Segment) -> str:
        nxt = next((s for s in self.segments[self._seg_i + 1 :] if s.phase != seg.phase), None)
        n_phases = len(PHASES)
        title = PHASE_TITLES[seg.phase]
        if seg.kind != "baseline":
            title += f" {seg.rep} of {self.phase_reps[seg.phase]}"
        if nxt is None:
            after = "then the assessment is done"
        elif nxt.phase in self.phase_reps and self.phase_reps[nxt.phase] > 1:
            after = f"next: {PHASE_TITLES[nxt.phase].lower()} ({self.phase_reps[nxt.phase]})"
        else:
            after = f"next: {PHASE_TITLES[nxt.phase].lower()}"
        return f"Phase {seg.index + 1} of {n_phases}: {title}; {after}"

    def _refresh_state(self, t: float) -> None:
        seg = self.segment
        if seg is None:
            return
        self.state.countdown_s = max(0.0, seg.duration_s - (t - self._seg_t))
        self.state.score = {
            "phase": seg.phase,
            "protocol_left_s": _r(
                max(0.0, seg.duration_s - (t - self._seg_t))
                + sum(s.duration_s for s in self.segments[self._seg_i + 1 :])
            ),
        }

    def _shift_band(self, t: float, delta_pct: float) -> None:
        """The therapist's Up/Down (``Drill.shift_band``): move the hold band by ``delta_pct`` keeping its width,
        within 200 % and above the rest threshold; emits ``threshold_change {name "band_pct", old_pct, new_pct,
        reason "therapist"}`` (the low edges), nothing when the band cannot move. A running hold asks for the
        new band at once."""
        lo, hi = self.band_pct
        width = hi - lo
        new_lo = min(max(lo + delta_pct, self.rest_threshold_pct + 1.0), MAX_BAND_PCT - width)
        if abs(new_lo - lo) < EPS:
            return
        self.band_pct = (new_lo, new_lo + width)
        self._goal_state()
        self._emit(ev.THRESHOLD_CHANGE, t, name="band_pct", old_pct=_r(lo), new_pct=_r(new_lo), reason="therapist")
        seg = self.segment
        if seg is not None and seg.kind in ("hold", "endurance") and self.cue.band_pct is not None:
            self._set_cue(t, self.cue.phase, self.cue.text, target_pct=self._centre(), band_pct=self.band_pct)

    def summary(self) -> dict[str, Any]:
        out = self._base_summary()
        judged = self.attempted - self.voided
        out.update(
            {
                "reps_planned": self.reps_planned,
                "reps_attempted": self.attempted,
                "reps_succeeded": self.succeeded,
                "reps_void": self.voided,
                "success_rate": _r(self.succeeded / judged) if judged > 0 else None,
                "protocol_s": _r(self.protocol_duration_s()),
                "band_pct": [self.band_pct[0], self.band_pct[1]],
                "phases": list(self.phases),
                "reps": list(self.results),
            }
        )
        return out
