"""core.worker.legacy_h5: reading an .h5 model's description without running anything, and
converting it to .keras (Keras runs in this test process, as in the worker)."""

from __future__ import annotations

import json
import zipfile

import h5py
import numpy as np
import pytest

from core.jobs.inspection import ModelRejectedError
from core.worker import legacy_h5
from tests.corpus.legacy_models import LAMBDA_RAN_MARKER, TF_KERAS2_WEIGHTS, tf_keras2_h5


def write(tmp_path, data: bytes, name: str = "model.h5"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_tf_keras2_file_is_read_and_converted_with_its_weights(tmp_path):
    source = write(tmp_path, tf_keras2_h5())
    assert legacy_h5.read_description(source)["class_name"] == "Sequential"
    answer = legacy_h5.convert_h5(source, tmp_path / "model.keras")
    assert answer == {"keras_version": "2.15.0"}
    assert zipfile.is_zipfile(tmp_path / "model.keras")
    from core.worker.environment import import_keras

    model = import_keras().saving.load_model(tmp_path / "model.keras")
    kernel, bias = model.get_layer("conv2d").get_weights()
    np.testing.assert_array_equal(kernel, TF_KERAS2_WEIGHTS["conv2d"][0])
    assert getattr(model, "optimizer", None) is None  # no training configuration taken over


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: tf_keras2_h5(weights_only=True), legacy_h5.WEIGHTS_ONLY_MESSAGE),
        (lambda: tf_keras2_h5(with_lambda=True), legacy_h5.LAMBDA_MESSAGE),
        (lambda: tf_keras2_h5()[:3000], legacy_h5.DAMAGED_MESSAGE),
        (lambda: b"\x89HDF\r\n\x1a\n" + bytes(100), legacy_h5.DAMAGED_MESSAGE),
    ],
    ids=["weights-only", "lambda", "truncated", "signature-only"],
)
def test_refusals_name_what_is_wrong(tmp_path, data, message):
    LAMBDA_RAN_MARKER.unlink(missing_ok=True)
    with pytest.raises(ModelRejectedError) as caught:
        legacy_h5.convert_h5(write(tmp_path, data()), tmp_path / "out.keras")
    assert str(caught.value) == message
    assert not (tmp_path / "out.keras").exists() and not LAMBDA_RAN_MARKER.exists()


def test_an_hdf5_file_without_any_model_is_named_as_such(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("images", data=np.zeros((2, 2)))
    with pytest.raises(ModelRejectedError, match="holds no Keras model"):
        legacy_h5.read_description(path)


def test_a_custom_class_is_refused_before_keras_reads_it(tmp_path):
    path = tmp_path / "custom.h5"
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "Mine>Doubler"}]}}
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
    with pytest.raises(ModelRejectedError, match=r"custom layer .*\(Mine>Doubler\)"):
        legacy_h5.read_description(path)


def test_code_and_custom_classes_are_found_anywhere_in_the_description():
    deep = {"layers": [{"config": {"inner": [{"class_name": "TFOpLambda"}]}}]}
    assert legacy_h5.names_code(deep)
    assert legacy_h5.names_code({"class_name": "Dense", "function_type": "lambda"})
    assert legacy_h5.custom_class({"a": [{"class_name": "X", "module": "my_layers"}]}) == "X"
    assert legacy_h5.custom_class({"class_name": "Dense", "module": "keras.layers"}) is None


def test_file_names_must_say_h5_and_keras(tmp_path):
    with pytest.raises(ValueError, match="must end in .h5"):
        legacy_h5.convert_h5(tmp_path / "model.hdf5", tmp_path / "model.keras")
