"""Training replay: scrub through the epochs a run kept and watch the network learn.

At the picked epoch: the first layer's filters, one feature map of the page's input and
Grad-CAM, with that epoch's validation accuracy. Each epoch is a model file the run kept
(`core.jobs.run_epochs`), so the worker answers as for any model. **Play** steps through
every kept epoch in turn.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from core.base.numbers import readable
from core.jobs.inspection import ModelInfo
from core.jobs.run_epochs import MAX_KEPT_EPOCHS, SavedEpoch, epochs_seen
from core.jobs.worker_client import WorkerClient
from ui.inspect import views
from ui.inspect.layer_sections import forget_stale_choice, reported_errors
from ui.widgets.figure_export import export_button
from ui.widgets.tab_charts import charts_shown

NEEDS_RUN = (
    "Replay and epoch comparison need a training run of this app: this model has none (a "
    "bundled or uploaded model, or a run that was deleted). Train a model on the 'Train a "
    "CNN' page and save it; its run keeps its epochs."
)


NO_EPOCHS = (
    "This model's training run kept no epochs (it was trained before runs kept them, or "
    "stopped during its first epoch). Train it again to replay it."
)


PLAY_SECONDS = 0.8  # per epoch while playing


MAX_FILTER_TILES = 32


PICTURE_WIDTH = 260  # pixels on screen for each of the three pictures


def no_epochs_message(run_dir) -> str:
    """Why there is nothing to replay: no run, or a run without kept epochs."""
    return NEEDS_RUN if run_dir is None else NO_EPOCHS


def epoch_label(saved: SavedEpoch) -> str:
    """An epoch and its validation accuracy, for lists and captions.

    >>> from pathlib import Path
    >>> epoch_label(SavedEpoch(3, Path("e.keras"), val_accuracy=0.9123))
    'epoch 3 · validation accuracy 91.2%'
    >>> epoch_label(SavedEpoch(1, Path("e.keras"), accuracy=0.5))
    'epoch 1 · training accuracy 50.0%'
    """
    if saved.val_accuracy is not None:
        return f"epoch {saved.epoch} · validation accuracy {saved.val_accuracy:.1%}"
    if saved.accuracy is not None:
        return f"epoch {saved.epoch} · training accuracy {saved.accuracy:.1%}"
    return f"epoch {saved.epoch}"


def replay(client: WorkerClient, info: ModelInfo, sample, class_names, run_dir, epochs) -> None:
    """The replay section: an epoch slider, a layer and channel pick, three pictures."""
    if not epochs:
        st.info(no_epochs_message(run_dir))
        return
    numbers = [saved.epoch for saved in epochs]
    by_number = {saved.epoch: saved for saved in epochs}
    seen = max(epochs_seen(run_dir), numbers[-1])
    st.caption(
        f"The run kept {len(numbers)} of its {seen} epoch{'' if seen == 1 else 's'} (at most "
        f"{MAX_KEPT_EPOCHS}, spread over the run, the first and the last always among them, to "
        "bound the disk they take)."
    )
    forget_stale_choice("inspect.replay_epoch", numbers)
    if "inspect.replay_epoch" not in st.session_state:
        st.session_state["inspect.replay_epoch"] = numbers[-1]
    epoch = st.select_slider(
        "Epoch", numbers, key="inspect.replay_epoch", help="Drag to move through training."
    )
    layers = [layer.name for layer in info.map_layers]
    if not layers:
        st.info("This model has no feature maps: only its accuracy changes from epoch to epoch.")
        return
    columns = st.columns([2, 1, 1])
    forget_stale_choice("inspect.replay_layer", layers)
    layer = columns[0].selectbox("Feature map of the layer", layers, key="inspect.replay_layer")
    channels = info.layer(layer).output_shape[2]
    forget_stale_choice("inspect.replay_channel", list(range(channels)))
    channel = columns[1].selectbox("Channel", list(range(channels)), key="inspect.replay_channel")
    play = columns[2].button(
        "▶ Play", key="inspect.replay_play", help="Step through every kept epoch."
    )
    if not charts_shown():
        return  # a closed tab asks the worker nothing
    frame = st.empty()
    if play:
        for number in numbers:
            with frame.container():
                _draw_epoch(client, by_number[number], info, sample, class_names, layer, channel)
            time.sleep(PLAY_SECONDS)
    with frame.container():
        _draw_epoch(client, by_number[epoch], info, sample, class_names, layer, channel)


def _draw_epoch(client, saved: SavedEpoch, info, sample, class_names, layer, channel) -> None:
    path = saved.path
    maps = reported_errors(lambda: client.feature_maps(path, sample.image))
    filters = reported_errors(lambda: client.filters(path))
    if maps is None or filters is None:
        return
    predicted = int(np.argmax(maps.probabilities))
    cam = reported_errors(lambda: client.grad_cam(path, sample.image, predicted))
    name = class_names[predicted] if predicted < len(class_names) else str(predicted)
    st.markdown(
        f"**{epoch_label(saved)}** — predicts **{name}** ({maps.probabilities[predicted]:.1%})"
    )
    left, middle, right = st.columns(3)
    filter_picture = filter_mosaic(filters.kernels)
    left.image(filter_picture, width=PICTURE_WIDTH)
    export_button(filter_picture, f"First-layer filters, {epoch_label(saved)}", container=left)
    limit = float(np.abs(filters.kernels).max())
    left.caption(
        f"The first layer's filters ({filters.layer}), blue < 0 < red, one scale "
        f"±{readable(limit)} at this epoch."
    )
    values = maps.maps.get(layer)
    if values is not None:
        plane = values[:, :, min(channel, values.shape[2] - 1)]
        signed = bool(plane.min() < 0)
        top = float(np.abs(plane).max()) or 1.0
        map_picture = views.enlarge(views.colorize(plane, limit=top, signed=signed), 240)
        middle.image(map_picture, width=PICTURE_WIDTH)
        export_button(
            map_picture, f"{layer} channel {channel}, {epoch_label(saved)}", container=middle
        )
        middle.caption(
            f"{layer}, channel {channel}: "
            + ("blue < 0 < red, " if signed else "dark 0 → yellow max, ")
            + f"up to {readable(top)}."
        )
    if cam is not None:
        cam_picture = views.enlarge(views.overlay(sample.image, cam.heatmap), 240)
        right.image(cam_picture, width=PICTURE_WIDTH)
        export_button(cam_picture, f"Grad-CAM, {epoch_label(saved)}", container=right)
        right.caption(f"Grad-CAM for {name} at {cam.layer}, scaled to 0–1, hot = more.")


def filter_mosaic(kernels: np.ndarray) -> np.ndarray:
    """The first layer's filters `(kh, kw, in, n)` as one picture: RGB filters in colour,
    others as their first input channel on one diverging scale.

    >>> filter_mosaic(np.ones((3, 3, 1, 2), np.float32)).dtype
    dtype('uint8')
    """
    count = min(kernels.shape[3], MAX_FILTER_TILES)
    if kernels.shape[2] == 3:
        return views.mosaic(views.rgb_kernel_tiles(kernels[..., :count]), columns=8)
    limit = float(np.abs(kernels).max()) or 1.0
    tiles = [
        views.enlarge(views.colorize(kernels[:, :, 0, index], limit=limit, signed=True), 48)
        for index in range(count)
    ]
    return views.mosaic(tiles, columns=8)
