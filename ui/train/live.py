"""Train page, part 3: training settings, Start / Pause / Resume / Stop / Reset, live view.

A run is a folder (``core.jobs.training_job``); the page keeps only its path in
``st.session_state["train.run_dir"]``, so leaving the page, reloading it or restarting the
server loses nothing: the live view re-attaches and keeps polling. The live view is a
``st.fragment(run_every=...)`` that reads the run's files and touches its heartbeat.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from core.jobs.job_queue import AlreadyQueuedError
from core.jobs.runs import STATUS_DAMAGED, RunStatus, list_runs
from core.jobs.train_config import TrainConfig
from core.jobs.training_job import TrainingJob
from core.nets.transfer import WeightsUnavailableError
from ui.train.queue import (
    browser_id,
    own_live_run,
    promote_at_server_start,
    promote_quietly,
    queue_view,
    show_cancel_message,
)

POLL_SECONDS = 1.0


SMOOTHING = 0.8


# The folded section that lists the recent runs (its contents are built only while open).
RECENT_OPEN_KEY = "train.recent_open"


RUN_DIR_KEY = "train.run_dir"


START_MESSAGE_KEY = "train.start_message"


STATE_WORDS = {
    "waiting": "Waiting in the queue",
    "queued": "Starting (loading TensorFlow)…",
    "running": "Training",
    "paused": "Paused",
    "stopping": "Stopping…",
    "finished": "Finished",
    "stopped": "Stopped",
    "failed": "Failed",
}


def start_job(model_request: dict, choice, config: TrainConfig) -> None:
    """Start button callback: start a worker (or queue the job) and follow it, or leave a
    message for the page.

    It runs before the script, so the rerun already shows the job as live (Start disabled).
    Over the job cap the job waits in the queue, and the live view shows its place.
    """
    try:
        job = TrainingJob.submit(
            model_request,
            choice.training_source,
            config,
            preprocessing=choice.preprocessing,
            owner=browser_id(),
        )
    except AlreadyQueuedError as error:
        st.session_state[START_MESSAGE_KEY] = ("warning", str(error))
    except (ValueError, TypeError, OSError, WeightsUnavailableError) as error:
        st.session_state[START_MESSAGE_KEY] = ("error", f"Training could not start: {error}")
    else:
        follow(job)


def show_start_message() -> None:
    """Show (once) what went wrong when Start was last pressed."""
    message = st.session_state.pop(START_MESSAGE_KEY, None)
    if message is not None:
        kind, text = message
        (st.warning if kind == "warning" else st.error)(text)
    show_cancel_message()


def follow(job: TrainingJob | None) -> None:
    """Make ``job`` the run this page shows; its id also goes into the URL for reloads."""
    if job is None:
        st.session_state.pop(RUN_DIR_KEY, None)
        st.query_params.pop("run", None)
        return
    st.session_state[RUN_DIR_KEY] = str(job.run_dir)
    st.query_params["run"] = job.run_id
    for key in ("train.snapshot", "train.follow_filters"):
        st.session_state.pop(key, None)


def current_job() -> TrainingJob | None:
    """The job this session follows (or the one named in the URL after a reload, or this
    browser's run that is still going, started from another tab)."""
    promote_at_server_start()
    run_dir = st.session_state.get(RUN_DIR_KEY)
    try:
        if run_dir:
            job = TrainingJob.attach(run_dir)
            if st.query_params.get("run") != job.run_id:
                st.query_params["run"] = job.run_id  # switching pages drops it; keep reloads safe
            return job
        if "run" in st.query_params:
            job = TrainingJob.find(st.query_params["run"])
            st.session_state[RUN_DIR_KEY] = str(job.run_dir)
            return job
    except (FileNotFoundError, ValueError):
        st.warning("The run this page was following no longer exists.")
        follow(None)
        return None
    job = own_live_run()
    if job is not None:
        follow(job)
    return job


def recent_runs_picker() -> None:
    """Re-attach to a run started earlier (after a reload, or by the command line)."""
    runs = list_runs()[:15]
    if not runs:
        return
    # Built only while open (folded, its list and button cost every first visit).
    box = st.expander(
        f"Recent runs on this server ({len(runs)})", key=RECENT_OPEN_KEY, on_change="rerun"
    )
    if box.open is False:
        return
    with box:
        labels = {
            str(run.run_dir): f"{run.run_id} · {run.model_name} on {run.dataset_name} · "
            f"{run.status.state}"
            + (f" · {run.status.test_accuracy:.2%}" if run.status.test_accuracy else "")
            + (f" · damaged: {run.problem}" if run.problem else "")
            for run in runs
        }
        picked = st.selectbox(
            "Run",
            list(labels),
            format_func=labels.get,
            key="train.recent_pick",
            help="Runs live in the runs folder and survive reloads and server restarts.",
        )
        st.button(
            "Follow this run",
            key="train.attach",
            on_click=_follow_picked,
            args=(picked,),
            help="Show this run on the page.",
        )


def _follow_picked(run_dir: str) -> None:
    """Follow the run the list showed when it was clicked (it may have gone since)."""
    try:
        follow(TrainingJob.attach(run_dir))
    except FileNotFoundError:
        st.session_state[START_MESSAGE_KEY] = (
            "warning",
            "That run's folder is gone (deleted or moved since the list was shown), so it "
            "cannot be opened. Pick another run.",
        )


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def show_progress(status: RunStatus) -> None:
    """Progress bar over all planned batches with epoch, batch, speed and ETA."""
    speed = status.samples_per_second
    parts = [
        f"Epoch {status.epoch}/{status.epochs}" if status.epochs else "",
        f"batch {status.batch}/{status.batches_per_epoch}" if status.batches_per_epoch else "",
        f"{speed:,.0f} samples/s" if speed else "",
        f"elapsed {_format_seconds(status.elapsed_seconds)}",
        f"ETA {_format_seconds(status.eta_seconds)}" if status.is_live else "",
    ]
    # Counted from epoch and batch, like the words beside it.
    st.progress(status.fraction_done, text=" · ".join(p for p in parts if p))
    words = STATE_WORDS.get(status.state, status.state)
    if status.error == STATUS_DAMAGED:
        st.warning(status.error)
    elif status.state == "failed":
        st.error(f"Training failed: {status.error or status.message}")
    elif status.state == "stopped":
        reason = {"idle": "nobody watched it for too long", "user": "you stopped it"}
        st.info(f"Stopped ({reason.get(status.reason, status.reason or 'stopped')}).")
    elif status.error:
        st.warning(status.error)
    else:
        same = ("", words, words.rstrip("…"))  # "Stopping…" needs no "— Stopping" after it
        detail = "" if status.message in same else f" — {status.message}"
        st.caption(f"**{words}**{detail}")


def smooth(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Exponential moving average, debiased like TensorBoard's smoothing.

    >>> [round(v, 3) for v in smooth([1.0, 0.0], weight=0.5)]
    [1.0, 0.333]
    """
    smoothed, average = [], 0.0
    for count, value in enumerate(values, start=1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**count))
    return smoothed


def curves_figure(progress, batches_per_epoch: int) -> go.Figure:
    """Loss and accuracy per batch (raw, faint, and smoothed) and per epoch (train, validation)."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss", "Accuracy"))
    batches, epochs = progress.batches, progress.epochs
    per_epoch = batches_per_epoch or max((_number(b.get("batch")) or 0 for b in batches), default=0)
    per_epoch = per_epoch or 1
    for column, key in ((1, "loss"), (2, "accuracy")):
        steps = [b["step"] / per_epoch for b in batches if _number(b.get(key)) is not None]
        values = [b[key] for b in batches if _number(b.get(key)) is not None]
        figure.add_scatter(
            x=steps,
            y=values,
            mode="lines",
            line=dict(color="#9bb7d4", width=1),
            name="per batch",
            showlegend=column == 1,
            legendgroup="raw",
            row=1,
            col=column,
        )
        figure.add_scatter(
            x=steps,
            y=smooth(values),
            mode="lines",
            line=dict(color="#1f5fa8", width=2),
            name="per batch (smoothed)",
            showlegend=column == 1,
            legendgroup="smooth",
            row=1,
            col=column,
        )
        for prefix, colour, label in (
            ("", "#e07b00", "train (epoch)"),
            ("val_", "#2a9d3c", "validation (epoch)"),
        ):
            points = [
                (e["epoch"], e[prefix + key])
                for e in epochs
                if _number(e.get(prefix + key)) is not None
            ]
            if points:
                figure.add_scatter(
                    x=[p[0] for p in points],
                    y=[p[1] for p in points],
                    mode="lines+markers",
                    line=dict(color=colour),
                    name=label,
                    showlegend=column == 1,
                    legendgroup=label,
                    row=1,
                    col=column,
                )
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(
        height=360,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0),
    )
    return figure


def _number(value) -> float | None:
    """``value`` if it is a finite number (a hand-edited curves file may hold anything).

    >>> _number(0.5), _number("0.5"), _number(float("nan")), _number(True)
    (0.5, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return value


def filters_figure(kernel: np.ndarray, *, columns: int = 8) -> tuple[go.Figure, str]:
    """First-layer filters as a grid of small pictures.

    One input channel: signed colours (blue negative, white 0, red positive) on one shared,
    symmetric scale with a colour bar. Three channels: each filter stretched min–max to RGB.
    """
    kernel_h, kernel_w, channels, count = kernel.shape
    rows = math.ceil(count / columns)
    gap = 1
    height, width = rows * (kernel_h + gap) - gap, columns * (kernel_w + gap) - gap
    if channels == 3:
        canvas = np.ones((height, width, 3), np.float32)
        for index in range(count):
            row, column = divmod(index, columns)
            weights = kernel[..., index]
            low, high = float(weights.min()), float(weights.max())
            scaled = (weights - low) / (high - low) if high > low else weights * 0 + 0.5
            top, left = row * (kernel_h + gap), column * (kernel_w + gap)
            canvas[top : top + kernel_h, left : left + kernel_w] = scaled
        figure = go.Figure(go.Image(z=np.round(canvas * 255).astype(np.uint8), hoverinfo="skip"))
        note = "RGB filters, each stretched min–max on its own."
    else:
        canvas = np.full((height, width), np.nan, np.float32)
        values = kernel.mean(axis=2)
        for index in range(count):
            row, column = divmod(index, columns)
            top, left = row * (kernel_h + gap), column * (kernel_w + gap)
            canvas[top : top + kernel_h, left : left + kernel_w] = values[..., index]
        limit = float(np.nanmax(np.abs(canvas))) or 1.0
        figure = go.Figure(
            go.Heatmap(
                z=canvas,
                colorscale="RdBu_r",
                zmin=-limit,
                zmax=limit,
                zmid=0,
                colorbar=dict(title="weight", thickness=12),
                hoverongaps=False,
            )
        )
        figure.update_yaxes(autorange="reversed")
        note = f"Signed weights: blue negative, white 0, red positive (±{limit:.3f})."
    figure.update_xaxes(visible=False, scaleanchor="y")
    figure.update_yaxes(visible=False)
    figure.update_layout(height=40 + 48 * rows, margin=dict(l=0, r=0, t=0, b=0))
    return figure, note


def show_filters(job: TrainingJob, *, live: bool) -> None:
    """The first conv layer's filters, with a slider back through the snapshots."""
    snapshots = job.snapshots()
    if not snapshots:
        st.caption(
            "The first-layer filters appear here once training starts (a model "
            "without a Conv2D layer has none)."
        )
        return
    last = len(snapshots) - 1
    following = live and st.session_state.get("train.follow_filters", True)
    if following or st.session_state.get("train.snapshot", last) > last:
        st.session_state["train.snapshot"] = last
    st.session_state.setdefault("train.snapshot", last)
    slider_col, follow_col = st.columns([4, 1])
    follow_col.checkbox(
        "Follow the newest",
        value=True,
        key="train.follow_filters",
        help="Keep showing the latest snapshot while training; untick to scrub back.",
    )
    index = last
    if last > 0:
        index = slider_col.select_slider(
            "Snapshot",
            options=list(range(last + 1)),
            key="train.snapshot",
            format_func=lambda i: f"batch {snapshots[i]['step']}",
            disabled=following,
            help="Scrub through the saved filters, from the random start to now.",
        )
    entry = snapshots[index]
    try:
        kernel = job.load_snapshot(entry)
    except (OSError, ValueError, EOFError):
        kernel = None
    if kernel is None or kernel.ndim != 4 or not np.issubdtype(kernel.dtype, np.number):
        if live and index == last:
            st.caption("The newest snapshot of the filters is still being written; it shows next.")
        else:
            st.caption("That snapshot of the filters cannot be read (missing or damaged).")
        return
    figure, note = filters_figure(kernel)
    st.caption(
        f"**{entry.get('layer', 'conv')}** after {entry['step']} batches "
        f"(epoch {entry.get('epoch', 0)}): {kernel.shape[3]} filters "
        f"{kernel.shape[0]}×{kernel.shape[1]}. {note}"
    )
    st.plotly_chart(figure, key="train.filters_chart")


def run_controls(job: TrainingJob, status: RunStatus) -> None:
    """Pause / Resume / Stop for a live job; Reset for one that has ended.

    The commands are callbacks: the control file is written before the rerun, so
    the rerun already reads the new state as soon as the worker acts on it.
    """
    pause_col, stop_col, reset_col, _ = st.columns([1, 1, 1, 3])
    if status.state == "paused":
        pause_col.button(
            "Resume", key="train.resume", on_click=job.resume, help="Carry on training."
        )
    else:
        pause_col.button(
            "Pause",
            key="train.pause",
            disabled=status.state != "running",
            on_click=job.pause,
            help="Hold training after the current batch; the timer stops too.",
        )
    stop_col.button(
        "Stop",
        key="train.stop",
        disabled=not status.is_live or status.state == "stopping",
        on_click=job.stop,
        help="End training after the current batch. The model keeps its latest weights and "
        "is still evaluated and can be saved.",
    )
    if reset_col.button(
        "Reset",
        key="train.reset",
        disabled=status.is_live,
        help="Clear this run from the page to start another. The run folder stays on disk "
        "(re-open it under Recent runs).",
    ):
        follow(None)
        st.rerun()


def live_view(job: TrainingJob, was_live: bool) -> None:
    """Progress, controls, curves and filters; reruns itself every second while training.

    ``was_live`` is the status the rest of the page was drawn from, read once per run: read
    again here, a run ending in between would leave the page showing results while this
    still polls, and its rerun could swallow a click on "Save".
    """

    @st.fragment(run_every=POLL_SECONDS if was_live else None)
    def _view():
        if was_live:
            promote_quietly()  # any page polling starts the head of the queue when a slot frees
        status = job.poll()
        if was_live and not status.is_live:
            st.rerun()  # the whole page: show the results, stop polling
        if status.is_waiting:
            queue_view(job, on_cancelled=lambda: follow(None))
            return
        run_controls(job, status)
        show_progress(status)
        if problems := job.problems(status):
            st.warning(
                "Parts of this run cannot be read: " + "; ".join(problems) + ". The rest is shown."
            )
        st.plotly_chart(
            curves_figure(job.progress(), status.batches_per_epoch), key="train.curves_chart"
        )
        show_filters(job, live=status.is_live)

    _view()
