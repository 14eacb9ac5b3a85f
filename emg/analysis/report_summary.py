"""Page one of the report: the session summary a therapist reads first, and its plain-words interpretation.

``summary_page(summary, previous) -> SummaryPage`` from the analysis JSON (and the previous session's, or
None). Every figure comes from the JSON's ``clinical``, ``drill``, ``reps`` and ``session`` objects; the
calibration is described apart and is in none of the figures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from emg.analysis.report_labels import channel_label, muscle_words, num, plain_date

#: A rest level at or below this (% of reference) is "relaxed".
RELAXED_PCT = 5.0


@dataclass
class SummaryPage:
    title: str
    rows: list[tuple[str, str]]
    muscle_headers: list[str]
    muscle_rows: list[list[str]]
    muscle_title: str
    interpretation: list[str]
    notes: list[str]
    calibration: str
    previous: list[tuple[str, str, str]] = field(default_factory=list)  # (figure, then, now)
    previous_line: str = ""
    warnings: list[str] = field(default_factory=list)


def labels_by_name(s: dict[str, Any]) -> dict[str, str]:
    """Channel name -> ``muscle (name)`` label for every analysed channel."""
    return {ch["name"]: channel_label(ch["name"], ch.get("muscle")) for ch in s.get("channels") or []}


def _trained_row(clin: dict[str, Any]) -> dict[str, Any] | None:
    return next((m for m in clin.get("muscles") or [] if m.get("trained")), None)


def _goal(s: dict[str, Any], lab: dict[str, str]) -> str:
    reps = s.get("reps") or []
    bands = {tuple(r["band_pct"]) for r in reps if r.get("band_pct")}
    chans = sorted({lab.get(r.get("channel"), r.get("channel")) for r in reps if r.get("channel")})
    if not bands:
        return "no target band recorded"
    where = " and ".join(chans) or "the trained muscle"
    band_txt = "; ".join(f"{lo:g}–{hi:g} %" for lo, hi in sorted(bands))
    return f"{where} within {band_txt} of reference" + (" (the therapist changed it)" if len(bands) > 1 else "")


def summary_page(s: dict[str, Any], previous: dict[str, Any] | None) -> SummaryPage:
    clin = s.get("clinical") or {}
    sess = s.get("session") or {}
    drill = s.get("drill") or {}
    lab = labels_by_name(s)
    pct_basis = clin.get("basis") == "% of reference"
    patient = sess.get("patient_id")
    pat_txt = str(patient) if patient else "not recorded"
    if sess.get("patient_name"):
        pat_txt += f" ({sess['patient_name']})"
    sites = "; ".join(lab[ch["name"]] for ch in s.get("channels") or [] if ch.get("muscle")) or "not recorded"
    rows = [
        ("Patient", pat_txt),
        ("Side", str(sess.get("side") or "not recorded")),
        ("Electrode sites", sites),
        ("Date", plain_date(s.get("start_time"))),
    ]
    periods = clin.get("periods") or {}
    if periods.get("drill_s"):
        rows.append(
            ("Drill", str(drill.get("name") or periods.get("drill_name") or periods.get("drill_kind") or "drill"))
        )
        rows.append(("Goal", _goal(s, lab)))
        att, ok = drill.get("reps_attempted"), drill.get("reps_succeeded")
        if att:
            rows.append(("Reps", f"{ok} of {att} succeeded ({100 * ok / att:.0f} %)"))
        tib = clin.get("time_in_band") or {}
        if tib.get("pct") is not None:
            src = "" if tib.get("source") == "live" else " (offline estimate)"
            rows.append(
                (
                    "Time in target band",
                    f"{tib['pct']:.0f} % of the work time ({tib['in_band_s']:.1f} of {tib['work_s']:.1f} s){src}",
                )
            )
    else:
        rows.append(("Drill", "none: a recording without a drill"))
    rows.append(("Length", f"{float(s.get('duration_s') or 0):.0f} s"))

    unit = "% ref" if pct_basis else str(s.get("units") or "uV")
    base = clin.get("baseline") or {}
    before = {r["channel"]: r for r in base.get("before") or []}
    after = {r["channel"]: r for r in base.get("after") or []}

    def rest_txt(r: dict[str, Any] | None) -> str:
        if not r or r.get("mean_uv") is None:
            return "–"
        t = f"{r['mean_uv']:.1f} µV"
        return t + (f" ({r['mean_pct']:.1f} %)" if r.get("mean_pct") is not None else "")

    over = next((m.get("mean_over") for m in clin.get("muscles") or []), "drill")
    # these come from the analysis' own envelope: label them, the live per-rep figures are in the per-rep table
    est = str(clin.get("estimate") or "offline")
    headers = [
        "Muscle",
        "Role",
        f"Peak ({unit})",
        f"Mean during {over} ({unit})",
        "Rest before",
        "Rest after",
    ]
    mrows = []
    for m in clin.get("muscles") or []:
        peak = m["peak_pct"] if pct_basis else m["peak_uv"]
        mean = m["mean_pct"] if pct_basis else m["mean_uv"]
        mrows.append(
            [
                lab.get(m["channel"], m["channel"]),
                "trained" if m.get("trained") else "recorded",
                num(peak, 1),
                num(mean, 1),
                rest_txt(before.get(m["channel"])),
                rest_txt(after.get(m["channel"])),
            ]
        )
    page = SummaryPage(
        title="EMG biofeedback session report",
        rows=rows,
        muscle_headers=headers,
        muscle_rows=mrows,
        muscle_title=f"Muscles (drill only, calibration excluded; {est} estimate)",
        interpretation=[],
        notes=list(sess.get("notes") or []) or ["none recorded"],
        calibration=_calibration_line(clin, lab),
    )
    if s.get("error"):
        page.warnings.append(str(s["error"]))
    _previous(page, s, previous, pct_basis)
    page.interpretation = interpret(s, previous, pct_basis)
    return page


def _calibration_line(clin: dict[str, Any], lab: dict[str, str]) -> str:
    cal = clin.get("calibration")
    if not cal:
        return "No calibration in this recording: amplitudes are in µV and cannot be compared with other sessions."
    parts = []
    span = cal.get("span_s")
    kind = {"mvc": "maximal (MVC)", "submax": "sub-maximal"}.get(str(cal.get("kind")), str(cal.get("kind") or ""))
    head = f"Calibration: {kind} reference contraction" + (
        f", recorded {span[0]:.0f}–{span[1]:.0f} s into the session" if span else " (from an earlier session)"
    )
    for ch in cal.get("channels") or []:
        parts.append(
            f"{muscle_words(ch['name'])}: reference {ch['reference_uv']:.1f} µV, "
            f"rest floor {ch['rest_floor_uv']:.1f} µV"
        )
    return head + ("; " + "; ".join(parts) if parts else "") + ". It is kept out of every figure in this report."


def _headline(s: dict[str, Any], pct_basis: bool) -> dict[str, float | None]:
    clin = s.get("clinical") or {}
    drill = s.get("drill") or {}
    tr = _trained_row(clin) or {}
    tib = (clin.get("time_in_band") or {}).get("pct")
    att = drill.get("reps_attempted")
    return {
        "Reps succeeded (%)": (100.0 * drill["reps_succeeded"] / att) if att else None,
        "Time in band (%)": tib,
        "Peak (% ref)" if pct_basis else "Peak (µV)": tr.get("peak_pct") if pct_basis else tr.get("peak_uv"),
        "Mean during work (% ref)" if pct_basis else "Mean during work (µV)": tr.get("mean_pct")
        if pct_basis
        else tr.get("mean_uv"),
    }


def _previous(page: SummaryPage, s: dict[str, Any], prev: dict[str, Any] | None, pct_basis: bool) -> None:
    if prev is None:
        page.previous_line = "First session: no earlier recording of this patient in this folder."
        return
    if prev.get("error"):
        page.previous_line = f"The previous session ({prev.get('path')}) could not be analysed: {prev['error']}"
        return
    now, then = _headline(s, pct_basis), _headline(prev, pct_basis)
    page.previous_line = f"Previous session: {plain_date(prev.get('start_time'))}."
    for k, v in now.items():
        w = then.get(k)
        if v is None and w is None:
            continue
        page.previous.append((k, num(w, 1), num(v, 1)))


def interpret(s: dict[str, Any], prev: dict[str, Any] | None, pct_basis: bool) -> list[str]:
    """Short sentences that restate the figures; no claim beyond them."""
    clin = s.get("clinical") or {}
    drill = s.get("drill") or {}
    lab = labels_by_name(s)
    out = []
    att = drill.get("reps_attempted")
    if att:
        out.append(f"The patient succeeded in {drill['reps_succeeded']} of {att} reps.")
    tib = (clin.get("time_in_band") or {}).get("pct")
    if tib is not None:
        out.append(f"The trained muscle was inside the target band for {tib:.0f} % of the work time.")
    reps = clin.get("reps") or []
    slow_rel = sum(1 for r in reps if (r.get("offline") or {}).get("release_slow"))
    slow_on = sum(1 for r in reps if (r.get("offline") or {}).get("onset_slow"))
    if reps and (slow_rel or slow_on):
        out.append(
            f"Onset took longer than 2 s in {slow_on} rep(s) and release in {slow_rel} rep(s) (offline estimate)."
        )
    tr = _trained_row(clin)
    before = {r["channel"]: r for r in (clin.get("baseline") or {}).get("before") or []}
    if tr and pct_basis and before.get(tr["channel"], {}).get("mean_pct") is not None:
        lvl = before[tr["channel"]]["mean_pct"]
        state = "relaxed" if lvl <= RELAXED_PCT else "not fully relaxed"
        out.append(
            f"Before the first rep {lab.get(tr['channel'], tr['channel'])} rested at {lvl:.1f} % of reference "
            f"({state}; threshold {RELAXED_PCT:g} %)."
        )
    for cc in s.get("cocontraction") or []:
        if cc.get("over") == "drill work phases":
            a, b = (lab.get(x, x) for x in cc["channels"])
            out.append(f"Co-contraction of {a} and {b} during the work phases: index {cc['index_pct']:.0f} %.")
    for f in clin.get("fatigue") or []:
        by_length: dict[int, list[float]] = {}
        for h in f.get("holds") or []:
            if h.get("median_frequency_change_pct") is not None:
                by_length.setdefault(int(round(h["duration_s"])), []).append(float(h["median_frequency_change_pct"]))
        for length_s, changes in sorted(by_length.items()):
            who = lab.get(f["channel"], f["channel"])
            if len(changes) == 1:
                what = f"During the {length_s} s hold the median frequency of {who} changed by {changes[0]:+.0f} %"
            else:
                what = (
                    f"Over the {len(changes)} holds of {length_s} s the median frequency of {who} changed by "
                    f"{statistics.median(changes):+.0f} % (median; {min(changes):+.0f} to {max(changes):+.0f} %)"
                )
            out.append(what + " (a fall suggests fatigue).")
    if prev is not None and not prev.get("error"):
        now, then = _headline(s, pct_basis), _headline(prev, pct_basis)
        diffs = [
            f"{k.split(' (')[0].lower()} {then[k]:.0f} → {now[k]:.0f}"
            for k in now
            if now[k] is not None and then.get(k) is not None
        ]
        if diffs:
            out.append("Since the previous session: " + ", ".join(diffs) + " (one session each; not a trend).")
    if not pct_basis:
        out.append("Without a calibration the amplitudes are in µV; they depend on electrode placement and skin.")
    if not out:
        out.append("No drill was run: this report describes the signals only.")
    out.append("These figures describe this session; they are not a diagnosis.")
    return out
