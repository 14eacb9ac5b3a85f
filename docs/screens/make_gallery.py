"""Render every shipped drill's key moments as the patient sees them, into ``docs/screens/*.png``.

Run: ``.venv/bin/python docs/screens/make_gallery.py [--size 1920x1080] [--out docs/screens]``.

The drills run their real logic with a simulated patient (:mod:`feedback.view_moments`): mid-rep, the
success, a failed rep and an early stop; the calibration's rest and reference stages are drawn from
frames like the ones the calibration publishes. The view renders offscreen; ``README.md`` lists the images.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from feedback.drills import shipped_drills  # noqa: E402
from feedback.state import DrillState  # noqa: E402
from feedback.view import FeedbackView, ensure_app, process_events  # noqa: E402
from feedback.view_moments import Moment, drill_moments  # noqa: E402

CHANNELS = ["vastus_medialis", "biceps_femoris", "upper_trapezius", "gastrocnemius"]
FS_HZ = 100.0
WHAT = {
    "working": "mid-rep, doing it right",
    "success": "the rep succeeds",
    "failed": "a missed rep: TRY AGAIN and why",
    "stopped": "stopped early (Esc): the end screen",
    "rest": "calibration: resting level",
    "reference": "calibration: reference contraction",
}


def calibration_moments(fs_hz: float = FS_HZ) -> list[Moment]:
    """The calibration's two stages as the calibration publishes them (rest; reference with its goal)."""
    n = int(8 * fs_hz)
    t = np.arange(n) / fs_hz
    rest = np.vstack([2 + 0.5 * np.sin(t + ch) for ch in range(len(CHANNELS))])
    ramp = np.clip((t - 4) / 3, 0, 1)
    ref = rest.copy()
    ref[0] = 2 + 70 * ramp + np.sin(3 * t)
    common = {"title": "Calibration", "channel": 0, "scale_label": "% of reference"}
    rest_state = DrillState(cue="REST", countdown_s=4.2, stage="calibration_rest", **common)
    ref_state = DrillState(
        cue="CONTRACT",
        countdown_s=2.4,
        stage="calibration_reference",
        target_marker_pct={0: 100.0},
        message="Squeeze firmly and steadily, up to the line",
        **common,
    )
    return [
        Moment("calibration", "rest", rest_state, rest, fs_hz),
        Moment("calibration", "reference", ref_state, ref, fs_hz),
    ]


def render(moment: Moment, size: tuple[int, int], path: Path | None = None) -> FeedbackView:
    """A view of ``size`` showing ``moment`` (painted; saved as PNG when ``path`` is given)."""
    view = FeedbackView(CHANNELS, moment.fs_hz)
    view.resize(*size)
    view.show()
    process_events()
    view.push(moment.activation_pct)
    view.set_frame(moment.state)
    view.set_latency(18.0, 27.0)
    view.set_channel_quality(["ok"] * len(CHANNELS))
    view.paint_now()
    process_events()
    if path is not None:
        view.save_png(str(path))
    return view


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080", help="window size WxH (default 1920x1080)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent), help="output folder")
    args = parser.parse_args(argv)
    w, h = (int(x) for x in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ensure_app(headless=True)
    rows = []
    groups = [("calibration", calibration_moments())]
    groups += [(p.stem, drill_moments(p.stem, CHANNELS, fs_hz=FS_HZ)) for p in shipped_drills()]
    for drill, moments in groups:
        for m in moments:
            name = f"{drill}_{m.name}.png"
            view = render(m, (w, h), out / name)
            view.close()
            view.deleteLater()
            process_events()
            rows.append((drill, m.name, name))
            print(name)
    lines = [
        "# Patient screens",
        "",
        f"What the patient sees during each shipped drill, rendered offscreen at {w}x{h} by",
        "`docs/screens/make_gallery.py` (run it again after changing the view or a drill):",
        "the drills run their real logic with a simulated patient (`feedback/view_moments.py`).",
        "",
        "| drill | moment | screen |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {d} | {WHAT.get(m, m)} | [{f}]({f}) |" for d, m, f in rows]
    lines += [
        "",
        "The same moments are checked at 1024x600, 1280x720 and 1920x1080 (and some at 3840x2160) by",
        "`tests/test_view_drills.py`: no text cut, elided or overlapping, and what each drill scores drawn where it",
        "should be. `docs/screens/bench_paint.py` measures the cost of `FeedbackView.paint_now` at 16 channels.",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
