"""The legacy ``.h5`` corpus through the real worker, as both model uploaders send it.

Inspect a Network's uploader calls ``WorkerClient.load_upload``; the Train page's stores
the model with ``model_store.upload_model``. One worker process serves the module.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from core.jobs import model_store
from core.jobs.inspection import ModelRejectedError
from core.jobs.legacy_models import CONVERTED_FROM, LEGACY_NOTE
from tests.corpus.legacy_models import ENTRIES, LAMBDA_RAN_MARKER, TF_KERAS2_WEIGHTS, tf_keras2_h5
from tests.corpus.plain_words import assert_plain_words
from tests.corpus.test_models import check, inspect_outcome, store_outcome

pytestmark = pytest.mark.slow  # a worker process that imports TensorFlow


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_both_uploaders_do_what_the_corpus_says(entry, client, tmp_path):
    data = entry.make()
    check(entry, inspect_outcome(client, data))
    check(entry, store_outcome(client, data, tmp_path / "store"))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.name)
def test_entry_gets_its_declared_outcome(entry, client):
    data = entry.make()
    if entry.outcome == "refuse":
        with pytest.raises(ModelRejectedError) as caught:
            client.load_upload(data)
        message = str(caught.value)
        assert entry.message.lower() in message.lower(), message
        assert_plain_words(message)
        return
    info = client.load_upload(data)
    assert info.ok, info.problem
    assert info.path.endswith(".keras") and zipfile.is_zipfile(info.path)
    assert entry.message.lower() in info.notes[0].lower(), info.notes
    assert info.conv_layers and info.num_classes in (3, 10)


def test_the_lambda_layers_code_never_runs(client):
    LAMBDA_RAN_MARKER.unlink(missing_ok=True)
    with pytest.raises(ModelRejectedError, match="Lambda layer"):
        client.load_upload(tf_keras2_h5(with_lambda=True))
    assert not LAMBDA_RAN_MARKER.exists()


def test_a_tf_keras2_model_keeps_its_weights(client):
    info = client.load_upload(tf_keras2_h5())
    assert info.input_shape == (8, 8, 1) and info.num_classes == 3
    filters = client.filters(info.path, "conv2d")
    kernel, bias = TF_KERAS2_WEIGHTS["conv2d"]
    np.testing.assert_array_equal(filters.kernels, kernel)
    np.testing.assert_array_equal(filters.bias, bias)
    probabilities = client.predict(info.path, np.zeros((2, 8, 8, 1), np.float32))
    # A zero image: relu(bias) → pooled → dense: the softmax of a computable vector.
    pooled = np.tile(np.maximum(bias, 0), 9)  # Flatten order: rows, cols, channels
    weights, dense_bias = TF_KERAS2_WEIGHTS["dense"]
    logits = pooled @ weights + dense_bias
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probabilities[0], expected, rtol=1e-5)


def test_the_store_keeps_the_converted_model_and_says_so(client, tmp_path):
    entry = next(entry for entry in ENTRIES if entry.name == "model/h5-small-cnn")
    saved = model_store.upload_model(entry.make(), "old_cnn", models_dir=tmp_path, client=client)
    assert saved.path.name == "old_cnn.keras" and zipfile.is_zipfile(saved.path)
    assert saved.metadata[CONVERTED_FROM] == "h5" and saved.metadata["notes"] == [LEGACY_NOTE]
    assert saved.metadata["input_shape"] == [28, 28, 1]
    assert "optimizer" not in zipfile.ZipFile(saved.path).read("config.json").decode()


def test_the_store_refuses_what_the_worker_refuses(client, tmp_path):
    with pytest.raises(model_store.ModelUploadError, match="only weights"):
        model_store.upload_model(
            tf_keras2_h5(weights_only=True), "weights", models_dir=tmp_path, client=client
        )
    assert not list(tmp_path.iterdir())
