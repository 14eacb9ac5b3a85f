"""Awareness trials (body awareness, self-perception): aim for a level with the display hidden,
give an estimate of the level reached, then see the true level.

Per trial: REST (``rest_s``) -> AIM (``aim_s``, display hidden, cue to ``levels_pct`` in turn)
-> ESTIMATE (display still hidden; :meth:`AwarenessDrill.submit_estimate` from a key press or
spoken value typed by the therapist, or ``estimate_timeout_s``) -> REVEAL (``reveal_s``, the true
level and the estimate shown) when this trial's feedback is due. Feedback fades over blocks:
``[[blocks]] feedback_every = N`` shows it on every N-th trial (1 = every trial), 0 = only after
the block (a block summary is shown for ``reveal_s``).

The true level of a trial (``actual_pct``) is the mean of the clean samples in the last
``measure_s`` of the aim. Per trial: ``target_pct``, ``actual_pct``, ``estimate_pct``,
``error_pct`` (estimate - actual), ``aim_error_pct`` (actual - target), ``shown``; result
``success`` when ``|error_pct| <= tolerance_pct``, ``failure`` otherwise, ``no_estimate`` when none
came, ``void`` when the measure window had no clean sample. Score: mean absolute estimation error
over the session and per block.
"""

from __future__ import annotations

import math
from typing import Any

from feedback import events as ev
from feedback.drill_base import Drill
from feedback.drill_config import DrillConfig
from feedback.errors import FeedbackError
from feedback.events import DrillEvent

EPS = 1e-9


class AwarenessDrill(Drill):
    """Blind aim, estimate, reveal; feedback fading over ``[[blocks]]``."""

    kind = "awareness"

    def __init__(
        self, config: DrillConfig, *, fs_hz: float, n_channels: int, channel_names: list[str] | None = None
    ) -> None:
        super().__init__(config, fs_hz=fs_hz, n_channels=n_channels, channel_names=channel_names)
        t = config.params["target"]
        self.levels_pct = [float(x) for x in t["levels_pct"]]
        self.aim_s, self.measure_s = float(t["aim_s"]), float(t["measure_s"])
        self.estimate_timeout_s, self.reveal_s = float(t["estimate_timeout_s"]), float(t["reveal_s"])
        self.tolerance_pct = float(t["tolerance_pct"])
        self.blocks = [dict(b) for b in config.params["blocks"]]
        proto = config.params["protocol"]
        self.rest_s, self.start_delay_s = float(proto["rest_s"]), float(proto["start_delay_s"])
        self.results: list[dict[str, Any]] = []
        self.block_index = 0  # 0-based
        self.trial_in_block = 0  # 1-based once started
        self.trial = 0  # 1-based over the session
        self.phase = "idle"
        self._phase_t = 0.0
        self._phase_dur = 0.0
        self._measure: list[float] = []
        self._gated_n = 0
        self._current: dict[str, Any] = {}
        self.state.reps_total = self.blocks[0]["trials"]
        self.state.sets_total = len(self.blocks)
        self.state.reps_planned = sum(int(b["trials"]) for b in self.blocks)

    def _resolve_channels(self) -> list[int]:
        return [self.config.resolve_channel("target", "channel", self.channel_names, self.n_channels)]

    @property
    def target_pct(self) -> float:
        return self.levels_pct[(self.trial - 1) % len(self.levels_pct)] if self.trial else self.levels_pct[0]

    def feedback_due(self, block_index: int, trial_in_block: int) -> bool:
        """Whether trial ``trial_in_block`` (1-based) of block ``block_index`` (0-based) is revealed."""
        every = int(self.blocks[block_index]["feedback_every"])
        return every > 0 and trial_in_block % every == 0

    # ---- engine ---------------------------------------------------------------------------
    def _start(self, t: float) -> None:
        self.block_index = 0
        self.state.set_index = 1
        self._emit(ev.SET_START, t, set=1, feedback_every=self.blocks[0]["feedback_every"])
        self._enter(t, "rest", self.start_delay_s)

    def _enter(self, t: float, phase: str, duration_s: float) -> None:
        self.phase, self._phase_t, self._phase_dur = phase, t, duration_s
        ch = self.channels[0]
        st = self.state
        if phase == "rest":
            st.hidden, st.reveal, st.message = False, None, ""
            st.bands_pct = {}
            self._set_cue(t, "rest", "REST", target_pct=0.0)
        elif phase == "aim":
            st.hidden, st.reveal = True, None
            st.message = f"Aim for {self.target_pct:g} % without looking"
            st.bands_pct = {ch: (self.target_pct - self.tolerance_pct, self.target_pct + self.tolerance_pct)}
            self._set_cue(t, "contract", "AIM", target_pct=self.target_pct)
        elif phase == "estimate":
            st.hidden = True
            st.message = "How strong was that? Key in your estimate (%)"
            self._set_cue(t, "rest", "ESTIMATE", target_pct=0.0)
        elif phase in ("reveal", "block_reveal"):
            st.hidden = False
            self._set_cue(t, "rest", "RESULT", target_pct=0.0)

    def _step(self, t: float, values: list[float] | None, gated: bool) -> None:
        if self.finished:
            return
        elapsed = t - self._phase_t
        if self.phase == "rest":
            if elapsed >= self._phase_dur - EPS:
                self._begin_trial(t)
                self._step(t, values, gated)
        elif self.phase == "aim":
            if elapsed >= self._phase_dur - EPS:
                self._end_aim(t)
                return
            if values is not None and elapsed >= self.aim_s - self.measure_s - EPS:
                if gated:
                    self._gated_n += 1
                else:
                    self._measure.append(values[0])
        elif self.phase == "estimate":
            if elapsed >= self._phase_dur - EPS:
                self._record_estimate(t, None)
        elif self.phase in ("reveal", "block_reveal"):
            if elapsed >= self._phase_dur - EPS:
                self._after_reveal(t)

    def _begin_trial(self, t: float) -> None:
        self.trial += 1
        self.trial_in_block += 1
        self._measure, self._gated_n = [], 0
        self.state.failure_reason = ""
        self.state.rep = self.trial_in_block
        self.state.set_index = self.block_index + 1
        self.state.reps_total = self.blocks[self.block_index]["trials"]
        self._current = {
            "set": self.block_index + 1,
            "rep": self.trial_in_block,
            "trial": self.trial,
            "target_pct": self.target_pct,
            "cue_time_s": round(t + self._offset_s, 6),
            "shown": self.feedback_due(self.block_index, self.trial_in_block),
        }
        self._emit(
            ev.REP_START,
            t,
            set=self.block_index + 1,
            rep=self.trial_in_block,
            trial=self.trial,
            target_pct=self.target_pct,
            hidden=True,
        )
        self._enter(t, "aim", self.aim_s)

    def _end_aim(self, t: float) -> None:
        actual = sum(self._measure) / len(self._measure) if self._measure else None
        self._current["actual_pct"] = round(actual, 6) if actual is not None else None
        self._current["aim_error_pct"] = round(actual - self.target_pct, 6) if actual is not None else None
        self._current["gated_s"] = round(self._gated_n * self.dt_s, 6)
        self._emit(ev.ESTIMATE_REQUEST, t, trial=self.trial)
        self._enter(t, "estimate", self.estimate_timeout_s)

    def submit_estimate(self, t_s: float, estimate_pct: float) -> list[DrillEvent]:
        """The patient's estimate (%) of the level just reached; only while the drill asks for it."""
        x = float(estimate_pct)
        if not math.isfinite(x) or not 0 <= x <= 1000:
            raise FeedbackError(f"estimate {estimate_pct!r} is not a level in % (0-1000); key in a number such as 45")
        if self.phase != "estimate" or self.paused or self.finished:
            return []
        self._events = []
        self._record_estimate(float(t_s) - self._offset_s, x)
        self._publish(float(t_s) - self._offset_s)
        return list(self._events)

    def _record_estimate(self, t: float, estimate: float | None) -> None:
        cur = self._current
        actual = cur.get("actual_pct")
        cur["estimate_pct"] = estimate
        cur["error_pct"] = round(estimate - actual, 6) if estimate is not None and actual is not None else None
        if actual is None:
            cur["result"] = "void"
        elif estimate is None:
            cur["result"] = "no_estimate"
        else:
            cur["result"] = "success" if abs(cur["error_pct"]) <= self.tolerance_pct + EPS else "failure"
        if estimate is not None:
            self._emit(
                ev.ESTIMATE, t, trial=self.trial, estimate_pct=estimate, actual_pct=actual, error_pct=cur["error_pct"]
            )
        if cur["result"] == "success":
            self._emit(ev.SUCCESS, t, set=cur["set"], rep=cur["rep"])
        elif cur["result"] == "failure":
            reason = f"estimate off by {abs(cur['error_pct']):.0f} % (within {self.tolerance_pct:g} counts)"
            self.state.failure_reason = reason
            self._emit(ev.FAILURE, t, set=cur["set"], rep=cur["rep"], reason=reason)
        elif cur["result"] == "void":
            self._emit(ev.REP_VOID, t, set=cur["set"], rep=cur["rep"], gated_s=cur["gated_s"])
        self.results.append(dict(cur))
        self._emit(ev.REP_END, t, **cur)
        self.state.attempted = len(self.results)
        self.state.successes = sum(1 for r in self.results if r["result"] == "success")
        if cur["shown"]:  # a faded (unshown) trial gets no GOOD / TRY AGAIN either: that would be feedback
            if cur["result"] in ("success", "failure"):
                self._flash(t, cur["result"], min(self.reveal_s, 0.8) if self.reveal_s > 0 else 0.8)
            self.state.reveal = {"estimate_pct": estimate, "actual_pct": actual, "target_pct": cur["target_pct"]}
            self.state.message = self._reveal_text(estimate, actual)
            self._emit(ev.REVEAL, t, trial=self.trial, actual_pct=actual, estimate_pct=estimate)
            self._enter(t, "reveal", self.reveal_s)
        else:
            self._after_reveal(t)

    @staticmethod
    def _reveal_text(estimate: float | None, actual: float | None) -> str:
        if actual is None:
            return "No clean signal in that trial"
        if estimate is None:
            return f"You reached {actual:.0f} %"
        return f"You reached {actual:.0f} %, you estimated {estimate:.0f} %"

    def _after_reveal(self, t: float) -> None:
        block = self.blocks[self.block_index]
        if self.phase != "block_reveal" and self.trial_in_block >= block["trials"]:
            mine = [r for r in self.results if r["set"] == self.block_index + 1]
            unseen = any(not r["shown"] for r in mine)
            stats = self._block_stats(self.block_index)
            self._emit(
                ev.SET_END,
                t,
                set=self.block_index + 1,
                attempted=len(mine),
                succeeded=sum(1 for r in mine if r["result"] == "success"),
                **stats,
            )
            if unseen and self.reveal_s > 0:
                self.state.reveal = None
                err = stats["mean_abs_error_pct"]
                self.state.message = (
                    f"Block done: your estimates were off by {err:.0f} % on average"
                    if err is not None
                    else "Block done"
                )
                self._emit(ev.REVEAL, t, set=self.block_index + 1, **stats)
                self._enter(t, "block_reveal", self.reveal_s)
                return
        if self.trial_in_block >= block["trials"]:
            if self.block_index + 1 >= len(self.blocks):
                self._finish(t)
                return
            self.block_index += 1
            self.trial_in_block = 0
            self._emit(
                ev.SET_START,
                t,
                set=self.block_index + 1,
                feedback_every=self.blocks[self.block_index]["feedback_every"],
            )
        self._enter(t, "rest", self.rest_s)

    def _done_counts(self) -> tuple[int, int]:
        return len(self.results), sum(1 for r in self.results if r["result"] == "success")

    def _finish(self, t: float) -> None:
        # nothing is asked any more: show the display again and drop the estimate request
        self.state.hidden, self.state.reveal = False, None
        self.phase = "done"
        super()._finish(t)

    def _block_stats(self, block_index: int | None) -> dict[str, Any]:
        rows = [r for r in self.results if block_index is None or r["set"] == block_index + 1]
        errs = [r["error_pct"] for r in rows if r.get("error_pct") is not None]
        aims = [r["aim_error_pct"] for r in rows if r.get("aim_error_pct") is not None]
        return {
            "mean_abs_error_pct": round(sum(abs(e) for e in errs) / len(errs), 6) if errs else None,
            "bias_pct": round(sum(errs) / len(errs), 6) if errs else None,
            "mean_abs_aim_error_pct": round(sum(abs(a) for a in aims) / len(aims), 6) if aims else None,
            "estimates": len(errs),
        }

    def _refresh_state(self, t: float) -> None:
        self.state.countdown_s = (
            max(0.0, self._phase_dur - (t - self._phase_t)) if self.phase in ("rest", "aim", "estimate") else None
        )
        self.state.score = {"mean_abs_error_pct": self._block_stats(None)["mean_abs_error_pct"]}

    def summary(self) -> dict[str, Any]:
        out = self._base_summary()
        out.update(
            {
                "reps_planned": sum(b["trials"] for b in self.blocks),
                "reps_attempted": len(self.results),
                "reps_succeeded": sum(1 for r in self.results if r["result"] == "success"),
                "reps_void": sum(1 for r in self.results if r["result"] == "void"),
                **self._block_stats(None),
                "blocks": [
                    {"set": i + 1, "trials": b["trials"], "feedback_every": b["feedback_every"], **self._block_stats(i)}
                    for i, b in enumerate(self.blocks)
                ],
                "goal": {"levels_pct": self.levels_pct, "tolerance_pct": self.tolerance_pct},
                "reps": list(self.results),
            }
        )
        return out
