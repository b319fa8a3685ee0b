"""ui.inspect.attack: the Attack tab through AppTest with a real worker on the bundled MNIST
model (slow), and its plain helpers."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_pages.test_screen_words import problems
from tests.apptest_helpers import elements_in, kept_pictures, pixels, screen_text
from tests.inspect_helpers import MNIST_MODEL
from ui.inspect.attack import magnification, perturbation_rgb


def test_the_change_is_shown_grey_for_nothing_white_and_black_at_plus_minus_epsilon():
    change = np.array([[[0.03, -0.03, 0.0], [0.015, 0.0, -0.1]]])
    rgb = perturbation_rgb(change, 0.03)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 2, 3)
    assert rgb[0, 0].tolist() == [255, 0, 128]
    assert rgb[0, 1].tolist() == [191, 128, 0]  # half of ε, nothing, beyond −ε clipped
    assert perturbation_rgb(np.zeros((2, 2, 1)), 0.0).tolist() == [[[128] * 3] * 2] * 2
    assert magnification(1 / 255) == "128" and magnification(0.5) == "1"


def attack_script(client, image, true_class, shape):
    import numpy as np
    import streamlit as st

    from tests.inspect_helpers import MNIST_MODEL
    from ui.inspect.attack import attack_section
    from ui.inspect.inputs import InputSample

    info = client.model_info(MNIST_MODEL)
    maps = client.feature_maps(MNIST_MODEL, image)
    picture = image if shape is None else np.zeros(shape, np.float32)
    sample = InputSample(picture, "test image", true_class)
    attack_section(client, str(MNIST_MODEL), info, sample, maps, [str(d) for d in range(10)])
    st.write("end")


@pytest.fixture(scope="module")
def digit(shared_data):
    from core.data import builtin, preprocessing

    dataset = builtin.load_builtin("mnist", data_dir=shared_data)
    image = preprocessing.preprocess(dataset.x_test[:1], preprocessing.Preprocessing())[0]
    return image, int(dataset.y_test[0])


@pytest.mark.slow
def test_fgsm_then_pgd_show_the_change_the_answer_and_grad_cam(client, digit):
    image, label = digit
    with kept_pictures() as kept:
        at = AppTest.from_function(attack_script, args=(client, image, label, None))
        at.run(timeout=120)
        assert not at.exception, [e.value for e in at.exception]
        assert at.markdown[0].value.startswith(f"The network said **{label}**")
        assert at.slider(key="inspect.attack_steps").disabled  # FGSM has no steps
        caption = at.caption[0].value
        assert caption.startswith("ε = 8 / 255 per pixel, one step of ε")
        assert "shown 16 times larger" in caption and "(the true class)" in caption
        expected = client.adversarial_example(MNIST_MODEL, image, label, epsilon=8 / 255)
        titles = [m.value for m in at.markdown[1:6]]
        assert titles[:3] == ["**Original**", "**Change × 16**", "**Adversarial**"]
        assert titles[3:] == [
            f"**Grad-CAM before: {expected.cam_before.class_index}**",
            f"**Grad-CAM after: {expected.cam_after.class_index}**",
        ]
        images = elements_in(at._tree, "image")
        change = pixels(kept, images[1])[::8, ::8, 0]  # 28 pixels, 8 screen pixels each
        np.testing.assert_allclose(change, perturbation_rgb(expected.perturbation, 8 / 255)[..., 0])
        at.radio(key="inspect.attack_method").set_value("pgd")
        at.slider(key="inspect.attack_levels").set_value(40).run(timeout=120)
    assert not at.exception and not at.error
    assert not at.slider(key="inspect.attack_steps").disabled
    pgd = client.adversarial_example(MNIST_MODEL, image, label, method="pgd", epsilon=40 / 255)
    after = int(pgd.probabilities_after.argmax())
    assert after != label  # 40 grey levels of PGD change this digit's answer
    assert at.markdown[0].value.endswith("the attack changed its answer.")
    assert f"now it says **{after}**" in at.markdown[0].value
    assert at.caption[0].value.startswith("ε = 40 / 255 per pixel, 10 steps of 10 / 255")
    assert problems(screen_text(at)) == []  # no code names, raw floats or wrong plurals


@pytest.mark.slow
def test_an_input_of_another_shape_gets_a_plain_message(client, digit):
    image, label = digit
    at = AppTest.from_function(attack_script, args=(client, image, None, (32, 32, 3)))
    at.run(timeout=120)
    assert not at.exception
    assert at.error[0].value.startswith("The model expects images of shape (28, 28, 1).")
    assert at.markdown[-1].value == "end"
