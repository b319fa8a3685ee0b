"""ui.train.live: settings, starting and following a run, progress, curves and filters.

Runs are real run folders (`prepare_run`) filled as a worker would (`tests.ui.train.run_files`);
no worker process is started.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.data.preprocessing import Preprocessing
from core.jobs import runs
from core.jobs.runs import Progress, RunStatus
from core.jobs.training_job import TrainingJob
from tests.apptest_helpers import array, chart, chart_keys
from tests.ui.train.run_files import (
    new_run,
    write_progress,
    write_snapshots,
    write_status,
)
from ui.train.live import (
    RECENT_OPEN_KEY,
    RUN_DIR_KEY,
    START_MESSAGE_KEY,
    _format_seconds,
    curves_figure,
    filters_figure,
    smooth,
)


@pytest.fixture(autouse=True)
def runs_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "runs"
    monkeypatch.setenv("CONVSCOPE_RUNS_DIR", str(root))
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "2")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    return root


# ---------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "…"), (0, "0 s"), (59.4, "59 s"), (59.6, "1 min 00 s"), (61, "1 min 01 s")],
)
def test_seconds_read_as_minutes_and_seconds(seconds, text):
    assert _format_seconds(seconds) == text
    assert _format_seconds(3725) == "62 min 05 s"


def test_smoothing_is_a_debiased_moving_average_like_pandas_ewm():
    values = list(np.random.default_rng(0).random(50))
    for weight in (0.0, 0.5, 0.8, 0.99):
        expected = pd.Series(values).ewm(alpha=1 - weight, adjust=True).mean()
        assert smooth(values, weight=weight) == pytest.approx(list(expected))


def test_smoothing_starts_at_the_first_value_and_keeps_a_constant():
    assert smooth([3.0, 3.0, 3.0]) == pytest.approx([3.0, 3.0, 3.0])
    assert smooth([5.0, 1.0])[0] == pytest.approx(5.0)  # no pull towards 0 at the start
    assert smooth([]) == []


def progress(*, validation: bool = True) -> Progress:
    batches = [
        {"step": step, "epoch": 1 + (step - 1) // 4, "batch": 1 + (step - 1) % 4}
        | {"loss": 2.0 / step, "accuracy": 0.1 * step}
        for step in range(1, 9)
    ]
    batches.append({"step": 9, "epoch": 3, "batch": 1, "loss": None, "accuracy": None})
    epochs = [
        {"epoch": 1, "loss": 1.0, "accuracy": 0.3},
        {"epoch": 2, "loss": 0.5, "accuracy": 0.7},
    ]
    if validation:
        epochs[0] |= {"val_loss": 1.2, "val_accuracy": 0.25}
        epochs[1] |= {"val_loss": 0.6, "val_accuracy": 0.65}
    return Progress(batches=batches, epochs=epochs)


def test_curves_show_batches_in_epochs_raw_smoothed_and_per_epoch():
    figure = curves_figure(progress(), 4)
    names = [(trace.name, trace.xaxis) for trace in figure.data]
    assert names == [
        ("per batch", "x"),
        ("per batch (smoothed)", "x"),
        ("train (epoch)", "x"),
        ("validation (epoch)", "x"),
        ("per batch", "x2"),
        ("per batch (smoothed)", "x2"),
        ("train (epoch)", "x2"),
        ("validation (epoch)", "x2"),
    ]
    raw_loss, smooth_loss, train_loss, val_loss, raw_accuracy = figure.data[:5]
    assert list(raw_loss.x) == pytest.approx([step / 4 for step in range(1, 9)])  # no None point
    assert list(raw_loss.y) == pytest.approx([2.0 / step for step in range(1, 9)])
    assert list(smooth_loss.y) == pytest.approx(smooth([2.0 / step for step in range(1, 9)]))
    assert list(raw_accuracy.y) == pytest.approx([0.1 * step for step in range(1, 9)])
    assert (list(train_loss.x), list(train_loss.y)) == ([1, 2], [1.0, 0.5])
    assert list(val_loss.y) == [1.2, 0.6]
    assert [trace.showlegend for trace in figure.data] == [True] * 4 + [False] * 4
    assert [a.text for a in figure.layout.annotations] == ["Loss", "Accuracy"]
    assert figure.layout.xaxis.title.text == figure.layout.xaxis2.title.text == "epoch"


def test_without_validation_there_is_no_validation_curve():
    figure = curves_figure(progress(validation=False), 4)
    assert "validation (epoch)" not in {trace.name for trace in figure.data}


def test_without_batches_per_epoch_the_largest_batch_number_is_used():
    figure = curves_figure(progress(), 0)
    assert figure.data[0].x[-1] == pytest.approx(8 / 4)  # batches run 1..4 in each epoch


def test_an_empty_run_draws_empty_curves():
    figure = curves_figure(Progress(batches=[], epochs=[]), 0)
    assert [len(trace.x) for trace in figure.data] == [0, 0, 0, 0]


def test_grey_filters_share_one_signed_scale_with_gaps_between_them():
    kernel = np.zeros((3, 3, 1, 10), np.float32)
    kernel[0, 0, 0, 0] = -2.0
    kernel[1, 1, 0, 9] = 0.5
    figure, note = filters_figure(kernel, columns=8)
    (heatmap,) = figure.data
    assert heatmap.type == "heatmap" and heatmap.colorscale[0][1] == "rgb(5,48,97)"
    assert (heatmap.zmin, heatmap.zmid, heatmap.zmax) == (-2.0, 0, 2.0)
    z = np.array(heatmap.z, dtype=float)
    assert z.shape == (2 * 4 - 1, 8 * 4 - 1)  # 2 rows of 8, 1-pixel gaps
    assert z[0, 0] == -2.0 and z[4 + 1, 4 + 1] == 0.5  # filter 9: second row, second column
    assert np.isnan(z[3]).all() and np.isnan(z[:, 3]).all()  # the gaps are empty
    assert np.isnan(z[4:, 8:]).all()  # no filters 10 to 15
    assert note == "Signed weights: blue negative, white 0, red positive (±2.000)."
    assert figure.layout.yaxis.autorange == "reversed"
    assert figure.layout.height == 40 + 48 * 2


def test_grey_filters_of_several_channels_show_the_channel_mean():
    kernel = np.zeros((2, 2, 2, 1), np.float32)
    kernel[..., 0, 0] = 1.0
    kernel[..., 1, 0] = 3.0
    figure, _ = filters_figure(kernel)
    assert np.array(figure.data[0].z, dtype=float)[:2, :2] == pytest.approx(np.full((2, 2), 2.0))


def test_all_zero_filters_still_get_a_scale():
    figure, note = filters_figure(np.zeros((3, 3, 1, 2), np.float32))
    assert (figure.data[0].zmin, figure.data[0].zmax) == (-1.0, 1.0)
    assert "±1.000" in note


def test_colour_filters_are_each_stretched_min_max():
    kernel = np.zeros((2, 2, 3, 2), np.float32)
    kernel[..., 0] = np.arange(12, dtype=np.float32).reshape(2, 2, 3)  # 0 … 11
    kernel[..., 1] = 7.0  # flat: mid grey
    figure, note = filters_figure(kernel, columns=2)
    (image,) = figure.data
    z = np.asarray(image.z)
    assert image.type == "image" and z.shape == (2, 5, 3) and z.dtype == np.uint8
    assert z[0, 0].tolist() == [0, 23, 46] and z[1, 1].tolist() == [209, 232, 255]
    assert (z[:, 2] == 255).all()  # the gap
    assert (z[:, 3:] == 128).all()
    assert note == "RGB filters, each stretched min–max on its own."


# ---------------------------------------------------------------------------
# Starting through AppTest
# ---------------------------------------------------------------------------


def start_script(model_request, source, preprocessing):
    import numpy as np
    import streamlit as st

    from core.data.image_dataset import ImageDataset
    from core.jobs.train_config import TrainConfig
    from ui.train.data import DataChoice
    from ui.train.live import show_start_message, start_job

    dataset = ImageDataset(
        "tiny", ("a", "b"), *(np.zeros((2, 4, 4), np.uint8), np.array([0, 1])) * 2, "a test"
    )
    choice = DataChoice("mnist", dataset, source, preprocessing, (4, 4, 1))
    show_start_message()
    st.button("Start", key="start", on_click=start_job, args=(model_request, choice, TrainConfig()))


def press_start(model_request, source="mnist", preprocessing=None) -> AppTest:
    at = AppTest.from_function(start_script, args=(model_request, source, preprocessing))
    at.run()
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_over_the_job_cap_start_queues_the_job_once_per_browser(runs_root, monkeypatch):
    monkeypatch.setenv("CONVSCOPE_MAX_JOBS", "1")
    busy = new_run(runs_root)
    write_status(busy, state="running")
    at = press_start("mlp")
    assert not at.warning and not at.error
    waiting = Path(at.session_state[RUN_DIR_KEY])
    assert runs.read_status(waiting).state == "waiting"
    assert (
        json.loads((waiting / runs.CONFIG_FILE).read_text())["owner"]
        == (at.session_state["train.browser_id"])
    )
    at.button(key="start").click().run()  # a second job from the same browser
    [warning] = [w.value for w in at.warning]
    assert warning.startswith("You already have a training job waiting in the queue")
    assert Path(at.session_state[RUN_DIR_KEY]) == waiting
    assert sorted(path for path in runs_root.iterdir() if path.is_dir()) == sorted([busy, waiting])
    at.run()
    assert not at.warning  # said once
    assert START_MESSAGE_KEY not in at.session_state


def test_a_request_the_data_cannot_train_is_an_error(runs_root):
    at = press_start({"transfer": "MobileNetV2", "weights": None}, "mnist", Preprocessing())
    [error] = [e.value for e in at.error]
    assert error.startswith("Training could not start:")
    assert "RGB" in error
    assert not runs_root.exists() or not any(runs_root.glob("2*"))


def test_missing_imagenet_weights_are_an_error_naming_the_file():
    rgb = Preprocessing(target_size=32, color_mode="rgb")
    at = press_start({"transfer": "MobileNetV2", "weights": "imagenet"}, "cifar10", rgb)
    [error] = [e.value for e in at.error]
    assert error.startswith("Training could not start:")
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in error


# ---------------------------------------------------------------------------
# Following runs
# ---------------------------------------------------------------------------


def follow_script():
    import streamlit as st

    from ui.train.live import current_job, recent_runs_picker

    job = current_job()
    st.session_state["result"] = None if job is None else str(job.run_dir)
    recent_runs_picker()


def test_no_run_no_picker():
    at = AppTest.from_function(follow_script).run()
    assert at.session_state["result"] is None
    assert not at.expander and not at.warning


def test_a_reload_finds_the_run_named_in_the_address(runs_root):
    run_dir = new_run(runs_root)
    at = AppTest.from_function(follow_script)
    at.query_params["run"] = run_dir.name
    at.run()
    assert at.session_state["result"] == str(run_dir)
    assert at.session_state[RUN_DIR_KEY] == str(run_dir)


def test_the_followed_run_goes_back_into_the_address(runs_root):
    run_dir = new_run(runs_root)
    at = AppTest.from_function(follow_script)
    at.session_state[RUN_DIR_KEY] = str(run_dir)
    at.run()
    assert at.query_params["run"] == run_dir.name


@pytest.mark.parametrize("name", ["20200101-000000-gone", "../escape"])
def test_a_missing_or_bad_run_in_the_address_is_a_warning(name):
    at = AppTest.from_function(follow_script)
    at.query_params["run"] = name
    at.run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["The run this page was following no longer exists."]
    assert "run" not in at.query_params
    assert at.session_state["result"] is None


def test_a_deleted_run_folder_is_dropped_with_a_warning(runs_root, tmp_path):
    at = AppTest.from_function(follow_script)
    at.session_state[RUN_DIR_KEY] = str(tmp_path / "deleted")
    at.run()
    assert at.warning and RUN_DIR_KEY not in at.session_state


def test_recent_runs_are_listed_newest_first_and_can_be_followed(runs_root):
    older = new_run(runs_root)
    write_status(older, state="finished", test_accuracy=0.875)
    config = json.loads((older / runs.CONFIG_FILE).read_text())
    (older / runs.CONFIG_FILE).write_text(json.dumps({**config, "created": 1.0}))
    newer = new_run(runs_root, model="lenet5", dataset="cifar10")
    at = AppTest.from_function(follow_script).run()
    assert at.expander[0].label == "Recent runs on this server (2)"
    assert not at.selectbox and not at.button  # folded: nothing built for the browser
    at.session_state[RECENT_OPEN_KEY] = True  # the reader unfolds it
    at.run()
    picker = at.selectbox(key="train.recent_pick")
    assert picker.options == [
        f"{newer.name} · lenet5 on cifar10 · queued",
        f"{older.name} · tiny_cnn on mnist · finished · 87.50%",
    ]
    picker.set_value(str(older)).run()  # picking reruns the page before any click
    at.button(key="train.attach").click().run()
    assert at.session_state["result"] == str(older)
    assert at.query_params["run"] == older.name


# ---------------------------------------------------------------------------
# Progress, controls and the live view
# ---------------------------------------------------------------------------


def progress_script(status):
    from ui.train.live import show_progress

    show_progress(status)


def show(status: RunStatus) -> AppTest:
    at = AppTest.from_function(progress_script, args=(status,)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def progress_bar(at: AppTest):
    (bar,) = at.get("progress")
    return bar.proto.value, bar.proto.text


def test_a_running_status_shows_epoch_batch_speed_and_eta():
    status = RunStatus(
        state="running",
        message="Training",
        epoch=2,
        epochs=4,
        batch=5,
        batches_per_epoch=10,
        samples_per_second=1234.4,
        elapsed_seconds=75,
        eta_seconds=8,
    )
    at = show(status)
    value, text = progress_bar(at)
    assert value == 37  # 15 of 40 batches
    assert text == "Epoch 2/4 · batch 5/10 · 1,234 samples/s · elapsed 1 min 15 s · ETA 8 s"
    assert [c.value for c in at.caption] == ["**Training**"]


def test_an_ended_run_has_no_eta_and_a_message_beside_its_state():
    at = show(RunStatus(state="finished", message="Saved", epoch=1, epochs=1, elapsed_seconds=3))
    value, text = progress_bar(at)
    assert value == 100
    assert text == "Epoch 1/1 · elapsed 3 s"
    assert [c.value for c in at.caption] == ["**Finished** — Saved"]


@pytest.mark.parametrize(
    ("message", "caption"),
    [
        ("Stopping", "**Stopping…**"),
        ("Saving the model", "**Stopping…** — Saving the model"),
        (
            "Evaluating on 10,000 test images: 35%",
            "**Stopping…** — Evaluating on 10,000 test images: 35%",
        ),
    ],
)
def test_a_stopping_run_says_what_it_is_finishing(message, caption):
    at = show(RunStatus(state="stopping", message=message, epoch=1, epochs=2))
    assert [c.value for c in at.caption] == [caption]


@pytest.mark.parametrize(
    ("status", "kind", "text"),
    [
        (
            RunStatus(state="failed", error="out of memory"),
            "error",
            "Training failed: out of memory",
        ),
        (RunStatus(state="stopped", reason="user"), "info", "Stopped (you stopped it)."),
        (
            RunStatus(state="stopped", reason="idle"),
            "info",
            "Stopped (nobody watched it for too long).",
        ),
        (RunStatus(state="stopped"), "info", "Stopped (stopped)."),
        (RunStatus(state="running", error="slow disk"), "warning", "slow disk"),
    ],
)
def test_how_a_run_ended_is_said_in_the_right_box(status, kind, text):
    at = show(status)
    assert [element.value for element in getattr(at, kind)] == [text]


def controls_script(run_dir):
    import streamlit as st

    from core.jobs.training_job import TrainingJob
    from ui.train.live import run_controls

    job = TrainingJob.attach(run_dir)
    if "opened" not in st.session_state:  # the page follows the run until Reset lets go
        st.session_state["opened"] = st.session_state["train.run_dir"] = str(run_dir)
    run_controls(job, job.status())


def open_controls(run_dir: Path) -> AppTest:
    at = AppTest.from_function(controls_script, args=(run_dir,)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def command(run_dir: Path) -> str | None:
    path = run_dir / runs.CONTROL_FILE
    return json.loads(path.read_text())["command"] if path.is_file() else None


def test_a_running_run_can_be_paused_and_stopped_but_not_reset(runs_root):
    run_dir = new_run(runs_root)
    write_status(run_dir, state="running")
    at = open_controls(run_dir)
    assert not at.button(key="train.pause").disabled
    assert not at.button(key="train.stop").disabled
    assert at.button(key="train.reset").disabled
    at.button(key="train.pause").click().run()
    assert command(run_dir) == "pause"
    at.button(key="train.stop").click().run()
    assert command(run_dir) == "stop"
    assert at.button(key="train.stop").disabled  # the status now reads "stopping"


def test_a_paused_run_offers_resume(runs_root):
    run_dir = new_run(runs_root)
    write_status(run_dir, state="paused")
    at = open_controls(run_dir)
    assert "train.pause" not in [button.key for button in at.button]
    at.button(key="train.resume").click().run()
    assert command(run_dir) == "resume"


def test_a_queued_run_cannot_be_paused_yet(runs_root):
    at = open_controls(new_run(runs_root))
    assert at.button(key="train.pause").disabled
    assert not at.button(key="train.stop").disabled


def test_reset_lets_go_of_an_ended_run_but_keeps_its_folder(runs_root):
    run_dir = new_run(runs_root)
    write_status(run_dir, state="finished")
    at = open_controls(run_dir)
    assert at.button(key="train.pause").disabled and at.button(key="train.stop").disabled
    at.button(key="train.reset").click().run()
    assert RUN_DIR_KEY not in at.session_state
    assert run_dir.is_dir()


def filters_script(run_dir, live):
    from core.jobs.training_job import TrainingJob
    from ui.train.live import show_filters

    show_filters(TrainingJob.attach(run_dir), live=live)


def kernels(count: int) -> list[np.ndarray]:
    return [np.full((3, 3, 1, 4), number + 1, np.float32) for number in range(count)]


def test_no_snapshot_yet_says_when_filters_appear(runs_root):
    at = AppTest.from_function(filters_script, args=(new_run(runs_root), True)).run()
    assert "appear here once training starts" in at.caption[0].value
    assert not at.get("plotly_chart")


def test_an_ended_run_scrubs_back_through_its_snapshots(runs_root):
    run_dir = new_run(runs_root)
    write_snapshots(run_dir, kernels(3), layer="conv_a")
    at = AppTest.from_function(filters_script, args=(run_dir, False)).run()
    slider = at.select_slider(key="train.snapshot")
    assert slider.value == 2 and slider.options == ["batch 0", "batch 10", "batch 20"]
    assert not slider.disabled
    assert at.caption[0].value.startswith("**conv_a** after 20 batches (epoch 1): 4 filters 3×3.")
    assert "(±3.000)" in at.caption[0].value
    slider.set_value(0).run()
    assert at.caption[0].value.startswith("**conv_a** after 0 batches")
    assert "(±1.000)" in at.caption[0].value


def test_a_live_run_follows_the_newest_snapshot_until_told_not_to(runs_root):
    run_dir = new_run(runs_root)
    write_snapshots(run_dir, kernels(2))
    at = AppTest.from_function(filters_script, args=(run_dir, True)).run()
    assert at.select_slider(key="train.snapshot").disabled
    write_snapshots(run_dir, kernels(3))  # the worker saved another
    at.run()
    assert at.select_slider(key="train.snapshot").value == 2
    at.checkbox(key="train.follow_filters").uncheck().run()
    at.select_slider(key="train.snapshot").set_value(0).run()
    assert "after 0 batches" in at.caption[0].value


def test_a_snapshot_being_written_is_skipped_until_the_next_update(runs_root):
    run_dir = new_run(runs_root)
    write_snapshots(run_dir, kernels(1))
    (run_dir / runs.SNAPSHOT_DIR / "000000.npy").write_bytes(b"half a fi")
    at = AppTest.from_function(filters_script, args=(run_dir, True)).run()
    assert not at.exception
    assert "still being written" in at.caption[0].value


def live_script(run_dir):
    from core.jobs.training_job import TrainingJob
    from ui.train.live import live_view

    job = TrainingJob.attach(run_dir)
    live_view(job, was_live=job.status().is_live)


def test_the_live_view_of_an_ended_run_shows_progress_curves_and_filters(runs_root):
    run_dir = new_run(runs_root)
    write_status(run_dir, state="finished", epoch=2, epochs=2, batch=4, batches_per_epoch=4, step=8)
    write_progress(run_dir, progress().batches, progress().epochs)
    write_snapshots(run_dir, kernels(2))
    at = AppTest.from_function(live_script, args=(run_dir,)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert chart_keys(at) == ["train.curves_chart", "train.filters_chart"]
    curves = chart(at, "train.curves_chart")
    assert array(curves["data"][0]["x"]).tolist() == pytest.approx([s / 4 for s in range(1, 9)])
    assert progress_bar(at)[0] == 100
    assert (run_dir / runs.HEARTBEAT_FILE).is_file()  # the view polled the run


def test_a_run_that_ends_while_watched_reruns_the_page(runs_root):
    run_dir = new_run(runs_root)
    write_status(run_dir, state="running", epoch=1, epochs=2, batches_per_epoch=4)
    at = AppTest.from_function(live_script, args=(run_dir,)).run()
    assert at.button(key="train.reset").disabled
    write_status(run_dir, state="finished", epoch=2, epochs=2, batch=4, batches_per_epoch=4)
    at.run()
    assert not at.exception
    assert not at.button(key="train.reset").disabled
    assert TrainingJob.attach(run_dir).status().state == "finished"
