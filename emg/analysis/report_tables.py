"""The report's tables, as plain data (title, headers, rows of text) for the HTML and PDF writers.

Clinical tables (per rep, co-contraction, symmetry, fatigue over long holds, assessment blocks, live vs offline)
come first; the technical appendix (file, software, filters, signal quality, calibration) last.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emg.analysis.report_labels import num
from emg.analysis.report_summary import labels_by_name


@dataclass
class Table:
    id: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def clinical_tables(s: dict[str, Any]) -> list[Table]:
    out = [t for t in (_reps(s), _live_offline(s), _cross(s), _fatigue(s)) if t is not None]
    out += _assessment(s)
    return out


def appendix_tables(s: dict[str, Any]) -> list[Table]:
    st = s.get("settings") or {}
    lab = labels_by_name(s)
    rows = [
        ["File", str(s.get("path"))],
        ["Format", str(s.get("source_format"))],
        ["Recorded (ISO)", str(s.get("start_time"))],
        ["Software", f"emg-biofeedback {s.get('software_version')}"],
        ["Sampling rate", f"{s.get('sampling_rate'):g} Hz, {s.get('duration_s')} s"],
        ["Filtering", f"{st.get('mode')}: {st.get('filters')}"],
        ["Mains", f"{st.get('mains_hz')} Hz ({st.get('mains_source')})"],
        ["Envelope", str(st.get("envelope"))],
        ["Near-heart high-pass", f"{'on' if st.get('near_heart') else 'off'} ({st.get('near_heart_reason')})"],
        ["Channels analysed", f"{', '.join(lab.values())} ({st.get('channels_source')})"],
        ["% of reference from", str(st.get("calibration") or "none")],
    ]
    tech = Table("technical", "Recording and processing", ["", ""], rows)
    qrows = []
    for ch in s.get("channels") or []:
        q = ch.get("quality") or {}
        ecg = q.get("ecg") or {}
        qrows.append(
            [
                lab[ch["name"]],
                ch["status"],
                num(ch.get("noise_floor"), 2, "µV"),
                num(100 * q["mains_share"], 1, "%") if q.get("mains_share") is not None else "–",
                num(100 * (q.get("railed_fraction") or 0), 2, "%"),
                f"yes, {ecg.get('heart_rate_bpm')} bpm" if ecg.get("contaminated") else "no",
                ch.get("reason") or "",
            ]
        )
    rq = s.get("quality") or {}
    quality = Table(
        "quality",
        "Signal quality per channel",
        ["Channel", "Status", "Noise floor (RMS)", "Mains share", "At the rail", "ECG", "Note"],
        qrows,
        [f"Dropped packets: {num(rq.get('dropped_packets'), 0)}."] + list(rq.get("flags") or []),
    )
    out = [tech, quality]
    cal = (s.get("clinical") or {}).get("calibration")
    if cal:
        crows = [
            [str(c["name"]).replace("_", " "), num(c["rest_floor_uv"], 2, "µV"), num(c["reference_uv"], 2, "µV")]
            for c in cal.get("channels") or []
        ]
        span = cal.get("span_s")
        notes = [
            f"Kind: {cal.get('kind')}; "
            + (f"recorded {span[0]:.1f}–{span[1]:.1f} s" if span else "loaded from an earlier session")
            + f"; contractions found in it: {cal.get('contractions') or 'none'} (kept out of every statistic)."
        ]
        out.append(Table("calibration", "Calibration", ["Channel", "Rest floor", "Reference"], crows, notes))
    return out


def _reps(s: dict[str, Any]) -> Table | None:
    clin = s.get("clinical") or {}
    reps = clin.get("reps") or []
    if not reps:
        return None
    lab = labels_by_name(s)
    unit = next(((r.get("offline") or {}).get("unit") for r in reps if (r.get("offline") or {}).get("unit")), "")
    u = "%" if unit == "% of reference" else "µV"
    rows = []
    for r in reps:
        o, lv = r.get("offline") or {}, r.get("live") or {}
        onset = num(o.get("onset_s"), 2) + ("*" if o.get("onset_reference", "").startswith("own") else "")
        onset += " !" if o.get("onset_slow") else ""
        release = num(o.get("release_s"), 2) + (" !" if o.get("release_slow") else "")
        rows.append(
            [
                f"{r['rep']}" if r.get("set") in (None, 1) else f"{r['set']}.{r['rep']}",
                str(r.get("result") or "–"),
                str(r.get("failure_reason") or ""),
                num(lv.get("peak_pct"), 1),
                num(lv.get("time_in_band_s"), 1),
                num(lv.get("steadiness_cv_pct"), 0),
                num(o.get("work_avg"), 1),
                num(o.get("rest_avg"), 1),
                onset,
                release,
                lab.get(r.get("channel"), r.get("channel") or "–"),
            ]
        )
    notes = [
        "Live: as the drill scored it while the patient trained (peak and steadiness in % of reference).",
        f"{str(clin.get('estimate') or 'offline').capitalize()} estimate: work and rest averages leave out the "
        f"first second of each phase ({unit}); onset = time from the cue to 75 % of the previous rep's work "
        "average, release = time from the relax cue to 37.5 % of it (s).",
        "* first rep: onset against its own work average (there is no previous rep).  ! longer than 2 s.",
    ]
    return Table(
        "reps",
        "Per rep",
        [
            "Rep",
            "Result",
            "Reason",
            "Live peak (%)",
            "Live in band (s)",
            "Live steadiness CV (%)",
            f"Work avg ({u})",
            f"Rest avg ({u})",
            "Onset (s)",
            "Release (s)",
            "Muscle",
        ],
        rows,
        notes,
    )


def _live_offline(s: dict[str, Any]) -> Table | None:
    drill = s.get("drill") or {}
    rep = drill.get("replay")
    if not drill.get("reps_attempted"):
        return None
    rows = [["Live (recorded)", f"{drill['reps_succeeded']} of {drill['reps_attempted']}", "primary figures"]]
    if rep is None:
        rows.append(["Offline replay", "–", "not run: the recording has no drill configuration"])
    elif rep.get("error"):
        rows.append(["Offline replay", "–", str(rep["error"])])
    else:
        agree = "agrees with live" if rep.get("agrees_with_recorded") else "DIFFERS from live"
        rows.append(["Offline replay", f"{rep['reps_succeeded']} of {rep['reps_attempted']}", agree])
    return Table(
        "replay",
        "Live and offline replay",
        ["Source", "Reps succeeded", "Note"],
        rows,
        ["The replay re-runs the drill on the recorded signal through the live processing, as a check."],
    )


def _cross(s: dict[str, Any]) -> Table | None:
    lab = labels_by_name(s)
    rows = []
    for cc in s.get("cocontraction") or []:
        a, b = (lab.get(x, x) for x in cc["channels"])
        rows.append(["Co-contraction", f"{a} / {b}", num(cc["index_pct"], 0, "%"), f"over {cc.get('over')}"])
    for sy in s.get("symmetry") or []:
        rows.append(
            [
                "Left/right symmetry",
                f"{lab.get(sy['left'], sy['left'])} / {lab.get(sy['right'], sy['right'])}",
                num(sy["index_pct"], 0, "%"),
                "positive: left larger",
            ]
        )
    if not rows:
        return None
    return Table("cross", "Between muscles", ["Measure", "Muscles", "Index", "Note"], rows)


def _fatigue(s: dict[str, Any]) -> Table | None:
    clin = s.get("clinical") or {}
    lab = labels_by_name(s)
    rows, notes = [], []
    for f in clin.get("fatigue") or []:
        for h in f.get("holds") or []:
            rows.append(
                [
                    lab.get(f["channel"], f["channel"]),
                    num(h["start_s"], 1),
                    num(h["duration_s"], 1),
                    num(h["median_frequency_start_hz"], 1),
                    num(h["median_frequency_end_hz"], 1),
                    num(h["median_frequency_change_pct"], 1),
                ]
            )
        if not f.get("holds"):
            notes.append(f"{lab.get(f['channel'], f['channel'])}: {f.get('reason')}.")
    if not rows and not notes:
        return None
    return Table(
        "fatigue",
        "Fatigue (median frequency over long holds)",
        ["Muscle", "Hold at (s)", "Length (s)", "MDF start (Hz)", "MDF end (Hz)", "Change over the hold (%)"],
        rows,
        notes,
    )


def _assessment(s: dict[str, Any]) -> list[Table]:
    a = (s.get("clinical") or {}).get("assessment")
    if not a:
        return []
    lab = labels_by_name(s)
    out = []
    blocks = a.get("blocks") or {}
    brow = []
    for name in ("pre_baseline", "post_baseline"):
        for r in (blocks.get(name) or {}).get("channels") or []:
            brow.append(
                [
                    name.replace("_", " "),
                    lab.get(r["channel"], r["channel"]),
                    num(r["mean_uv"], 2),
                    num(r["sd_uv"], 2),
                    num(r.get("cv_pct"), 0),
                    num(r.get("mean_pct"), 1),
                ]
            )
    if brow:
        out.append(
            Table(
                "assessment-baseline",
                "Assessment: rest baselines",
                ["Phase", "Muscle", "Mean (µV)", "SD (µV)", "CV (%)", "Mean (% ref)"],
                brow,
                [
                    f"Post vs pre: {lab.get(c['channel'], c['channel'])} {c['change_pct']:+.0f} %"
                    for c in a.get("post_vs_pre") or []
                ],
            )
        )
    rrow = []
    for name in ("quick", "holds"):
        b = blocks.get(name)
        if b:
            rrow.append(
                [
                    name,
                    f"{b.get('succeeded')} of {b.get('reps')}",
                    num(b.get("mean_peak"), 1),
                    num(b.get("mean_work_avg"), 1),
                    num(b.get("mean_rest_avg"), 1),
                    num(b.get("mean_onset_s"), 2),
                    num(b.get("mean_release_s"), 2),
                ]
            )
    if rrow:
        out.append(
            Table(
                "assessment-reps",
                "Assessment: quick contractions and holds (means over the reps; per rep above)",
                ["Phase", "Succeeded", "Peak", "Work avg", "Rest avg", "Onset (s)", "Release (s)"],
                rrow,
            )
        )
    erow = []
    for r in (blocks.get("endurance") or {}).get("channels") or []:
        erow.append(
            [
                lab.get(r["channel"], r["channel"]),
                r["unit"],
                num(r["mean"], 1),
                num(r["first_third_mean"], 1),
                num(r["last_third_mean"], 1),
                num(r["decline_pct"], 1),
                num(r["median_frequency_change_pct"], 1),
            ]
        )
    if erow:
        out.append(
            Table(
                "assessment-endurance",
                "Assessment: endurance hold",
                ["Muscle", "Unit", "Mean", "First third", "Last third", "Decline (%)", "MDF change (%)"],
                erow,
            )
        )
    return out
