"""The generating-time estimate behind ComfyUI's progress bar: a documented prior before any
history, the user's median after, and "taking longer than usual" only past the normal spread."""
from __future__ import annotations

from pack_loader import pack_module

timings = pack_module("core.store.timings")
job_runner = pack_module("nodes.job_runner")
status = pack_module("core.status")


def test_without_history_the_prior_per_second_of_video_is_the_estimate():
    typical = timings.typical_from([], 5)
    assert typical.source == "prior"
    assert typical.expected_s == timings.PRIOR_BASE_S + 5 * timings.PRIOR_PER_VIDEO_SECOND_S
    assert typical.late_after_s == typical.expected_s * timings.PRIOR_LATE_FACTOR
    assert timings.typical_from([], 15).expected_s > typical.expected_s


def test_with_history_the_median_and_the_top_of_its_spread():
    samples = [30.0, 32.0, 29.0, 31.0, 35.0, 33.0, 30.0]
    typical = timings.typical_from(samples, 5)
    assert typical.source == "history" and typical.expected_s == 31.0
    # every time seen so far is inside the normal spread: none of them would have been "late"
    assert typical.late_after_s >= max(samples) and typical.late_after_s >= 31.0 * timings.MIN_LATE_FACTOR


def test_a_run_slightly_past_the_median_is_almost_done_not_late(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(job_runner.time, "monotonic", lambda: clock[0])
    view = job_runner.StatusView(None, typical=timings.typical_from([30.0, 31.0, 32.0], 5))
    progress = status.Progress()
    progress.on_status("generating")
    shown = []
    monkeypatch.setattr(job_runner, "send_status", lambda *a, **k: shown.append(k))
    fractions = []
    for seconds in (0, 10, 20, 30, 33, 36, 60):
        clock[0] = 1000.0 + seconds
        fractions.append(view.fraction(progress))
        view.show(progress)
    assert fractions == sorted(fractions) and fractions[-1] < job_runner.GENERATING_SPAN[1]
    overdue = [k["overdue"] for k in shown]
    assert overdue[:5] == [False] * 5 and overdue[-1] is True
