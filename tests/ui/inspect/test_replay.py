"""ui.inspect.replay: epoch labels, the filter picture and the section without a run. Replay
on a real run's epochs is tested in tests/app_pages/test_page_inspect_compare.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from core.jobs.run_epochs import SavedEpoch
from ui.inspect.replay import NEEDS_RUN, NO_EPOCHS, epoch_label, filter_mosaic, no_epochs_message


def test_an_epoch_is_labelled_with_the_accuracy_it_has():
    assert epoch_label(SavedEpoch(2, Path("e"), accuracy=0.7, val_accuracy=0.65)) == (
        "epoch 2 · validation accuracy 65.0%"
    )
    assert epoch_label(SavedEpoch(4, Path("e"))) == "epoch 4"


def test_filters_share_one_signed_scale_and_colour_filters_stay_in_colour():
    kernels = np.zeros((3, 3, 1, 2), np.float32)
    kernels[2, 2, 0, 0], kernels[2, 2, 0, 1] = 1.0, -1.0  # bottom right: clear of the numbers
    picture = filter_mosaic(kernels)
    red, blue = picture[-1, (picture.shape[1] - 3) // 2 - 1], picture[-1, -1]
    assert red[0] > red[2] and blue[2] > blue[0]  # +1 red, −1 blue on the same scale
    colour = np.random.default_rng(0).normal(size=(3, 3, 3, 40)).astype(np.float32)
    assert filter_mosaic(colour).shape[2] == 3  # at most 32 tiles, in RGB


def replay_without_run():
    from ui.inspect.replay import replay

    replay(None, None, None, [], None, [])


def test_a_model_without_a_run_says_replay_needs_a_training_run_of_this_app():
    app = AppTest.from_function(replay_without_run).run()
    assert not app.exception
    assert [item.value for item in app.info] == [NEEDS_RUN]
    assert no_epochs_message(Path("run")) == NO_EPOCHS
