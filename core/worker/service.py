"""The TensorFlow side of `core.jobs.worker_client`: a long-lived process that answers requests.

Started by `WorkerClient` (through `core.jobs.runner`) as ``python -m core.worker serve``.
Besides inspection it checks uploaded model files and makes augmentation previews, so the
app keeps one warm TensorFlow process instead of starting one per request. It reads
``(method, arguments)`` pairs from stdin and writes ``("ok", result)`` or
``("error", kind, message)`` to the real stdout (`multiprocessing.connection` framing);
anything TensorFlow prints goes to stderr instead, so it cannot corrupt the protocol.
TensorFlow gets the cores this process may run on (`core.worker.environment.import_keras`).

Per model file (keyed by path, modification time and size) it keeps the loaded model,
a multi-output feature extractor, gradient models per conv layer for Grad-CAM, the
per-layer models for the top-activation search and that search's results.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import traceback
from collections import OrderedDict
from multiprocessing.connection import Connection

import numpy as np

from core.base.checks import check_choice, check_int, received
from core.data.builtin import load_builtin
from core.data.network_input import prepare_images
from core.data.preprocessing import Preprocessing
from core.jobs.files import read_json
from core.jobs.held_out import HELD_OUT_SUFFIX, read_held_out
from core.jobs.inspection import (
    Attribution,
    DatasetRef,
    Evaluation,
    FeatureMaps,
    FilterWeights,
    LayerInfo,
    ModelInfo,
    ModelRejectedError,
    ScanResult,
    nan_weights_message,
)
from core.jobs.train_config import Augmentation
from core.worker import adversarial, feature_visualisation, legacy_h5
from core.worker.evaluation import evaluate_predictions
from core.worker.model_building import augment_examples
from core.worker.model_description import (
    default_cam_layer,
    describe_model,
    describe_upload,
    load_safely,
)

MAX_MODELS = 4


MAX_DATASETS = 3


PREDICT_BATCH = 1000


class _ModelEntry:
    """A loaded model and everything derived from it."""

    def __init__(self, keras, model, info: ModelInfo):
        self.keras = keras
        self.model = model
        self.info = info
        self.extractor = None
        self.extractor_names: list[str] = []
        self.pre_activation_layers: list[str] = []
        self.layer_models: dict[str, object] = {}
        self.input_models: dict[str, object] = {}
        self.scans: dict[tuple, dict] = {}
        self.predictions: dict[DatasetRef, tuple[np.ndarray, np.ndarray]] = {}
        self.evaluations: dict[DatasetRef, Evaluation] = {}
        self.visualisers: dict[str, object] = {}  # feature visualisation, per layer


class Worker:
    """Request handlers; one instance per process."""

    def __init__(self):
        from core.worker.environment import import_keras

        self.keras = import_keras()
        import tensorflow as tf

        self.tf = tf
        self.models: OrderedDict[tuple, _ModelEntry] = OrderedDict()
        self.datasets: OrderedDict[DatasetRef, np.ndarray] = OrderedDict()

    # -- models --------------------------------------------------------------

    def _entry(self, key: tuple, *, require_ok: bool = True) -> _ModelEntry:
        entry = self.models.get(key)
        if entry is None:
            entry = self._load(key)
            self.models[key] = entry
            while len(self.models) > MAX_MODELS:
                self.models.popitem(last=False)
        self.models.move_to_end(key)
        if require_ok and entry.info.problem:
            raise ModelRejectedError(entry.info.problem)
        return entry

    def _load(self, key: tuple) -> _ModelEntry:
        path = key[0]
        if not os.path.isfile(path):
            raise ModelRejectedError(f"There is no model file at {path}.")
        model = load_safely(self.keras, path)
        info = describe_model(model, path)
        sidecar = read_json(os.path.splitext(path)[0] + ".json", default={})
        names = sidecar.get("class_names") if isinstance(sidecar, dict) else None
        if isinstance(names, list) and len(names) == info.num_classes:
            info = dataclasses.replace(info, class_names=tuple(str(name) for name in names))
        return _ModelEntry(self.keras, model, info)

    # -- requests --------------------------------------------------------------

    def ping(self) -> dict:
        from core.worker.environment import worker_thread_count

        return {"pid": os.getpid(), "threads": worker_thread_count(), "models": len(self.models)}

    def check_model(self, path) -> dict:
        """Load an uploaded ``.keras`` file safely and describe it for the model store.

        Raises:
            ModelRejectedError: the file cannot be loaded safely; the message says why.
        """
        return describe_upload(path)

    def convert_h5(self, source, target) -> dict:
        """Convert a legacy ``.h5`` model to ``.keras`` without running its code (`legacy_h5`)."""
        return legacy_h5.convert_h5(source, target)

    def augment(self, image, augmentation: dict, count: int, seed: int) -> np.ndarray:
        """``count`` random versions of one (H, W, C) image through the training layers."""
        return augment_examples(image, Augmentation(**augmentation), count=count, seed=seed)

    def model_info(self, key) -> ModelInfo:
        return self._entry(key, require_ok=False).info

    def predict(self, key, images) -> np.ndarray:
        entry = self._entry(key)
        _check_input(entry, images, "images")
        outputs = [
            np.asarray(entry.model(images[i : i + PREDICT_BATCH], training=False))
            for i in range(0, len(images), PREDICT_BATCH)
        ]
        return np.concatenate(outputs).astype(np.float32)

    def _extractor(self, entry: _ModelEntry):
        if entry.extractor is None:
            model = entry.model
            names = [layer.name for layer in entry.info.map_layers]
            outputs = [model.get_layer(name).output for name in names]
            # Layers whose output went through a non-linearity: convolutions with a fused
            # activation, and activation layers; their inputs give the "before" picture.
            pre = [
                layer.name
                for layer in entry.info.map_layers
                if (layer.kind == "conv" and layer.activation not in (None, "linear"))
                or layer.kind == "activation"
            ]
            inputs = [model.get_layer(name).input for name in pre]
            entry.extractor = self.keras.Model(
                model.inputs[0], [*outputs, *inputs, model.outputs[0]], name="feature_extractor"
            )
            entry.extractor_names = names
            entry.pre_activation_layers = pre
        return entry.extractor

    def feature_maps(self, key, image) -> FeatureMaps:
        start = time.perf_counter()
        entry = self._entry(key)
        _check_input(entry, image, "image")
        batch = image[np.newaxis]
        extractor = self._extractor(entry)
        results = extractor(batch, training=False)
        if not isinstance(results, list | tuple):  # a dense network: the output alone
            results = [results]
        names, pre = entry.extractor_names, entry.pre_activation_layers
        maps = {name: np.asarray(results[i][0]) for i, name in enumerate(names)}
        pre_activations = {}
        for offset, name in enumerate(pre):
            layer = entry.model.get_layer(name)
            value = results[len(names) + offset]
            if entry.info.layer(name).kind == "conv":
                value = layer.convolution_op(value, layer.kernel)
                if layer.use_bias:
                    value = value + layer.bias
            pre_activations[name] = np.asarray(value[0])
        probabilities = np.asarray(results[-1][0], dtype=np.float32)
        elapsed = (time.perf_counter() - start) * 1000
        return FeatureMaps(maps, pre_activations, probabilities, elapsed)

    def filters(self, key, layer=None) -> FilterWeights:
        entry = self._entry(key)
        convs = tuple(conv.name for conv in entry.info.conv_layers)
        name = convs[0] if layer is None else check_choice(layer, "layer", convs)
        keras_layer = entry.model.get_layer(name)
        if getattr(keras_layer, "kernel", None) is None:  # SeparableConv2D has two
            raise ValueError(
                f"Layer {name!r} ({type(keras_layer).__name__}) has no single kernel to show."
            )
        kernel = np.asarray(keras_layer.kernel, dtype=np.float32)
        bias = getattr(keras_layer, "bias", None)
        return FilterWeights(name, kernel, None if bias is None else np.asarray(bias))

    def layer_input(self, key, image, layer) -> np.ndarray:
        """What conv layer `layer` receives for one image: float32 `(H, W, C)`.

        The output of the layer before it, exactly as the model computes it, so a unit's
        arithmetic can be redone outside TensorFlow and checked against the model's maps.
        """
        entry = self._entry(key)
        convs = tuple(conv.name for conv in entry.info.conv_layers)
        name = check_choice(layer, "layer", convs)
        _check_input(entry, image, "image")
        if name not in entry.input_models:
            source = entry.model.get_layer(name).input
            entry.input_models[name] = self.keras.Model(entry.model.inputs[0], source)
        values = entry.input_models[name](image[np.newaxis], training=False)
        return np.asarray(values[0], dtype=np.float32)

    def _forward(self, entry: _ModelEntry, batch, tape, watch: str | None):
        """Run the model node by node under `tape`, watching the input or layer `watch`.

        Returns `(watched tensor, class score tensor, what the score is, probabilities)`.
        Walking the graph ourselves keeps the watched tensor on the path to the score
        (a multi-output `keras.Model` hands back tensors the gradient does not reach).
        """
        from keras import tree

        model = entry.model
        graph = getattr(model, "_functional", None) or model
        values = {id(graph.inputs[0]): batch}
        watched = batch if watch is None else None
        if watch is None:
            tape.watch(batch)
        last_input = None
        # The layer that makes the output: in a branched model not always the last listed.
        last = graph.outputs[0]._keras_history[0]
        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(t) not in values for t in node.input_tensors):
                    continue
                args, kwargs = node.arguments.fill_in(values)
                if node.operation is last:
                    last_input = args[0]
                outputs = tree.flatten(node.operation(*args, **kwargs))
                if watch is not None and node.operation.name == watch:
                    tape.watch(outputs[0])
                    watched = outputs[0]
                for reference, value in zip(node.outputs, outputs, strict=False):
                    values[id(reference)] = value
        output = values[id(graph.outputs[0])]
        tf = self.tf
        activation = getattr(getattr(last, "activation", None), "__name__", None)
        if type(last).__name__ == "Dense" and activation == "softmax":
            logits = tf.matmul(last_input, last.kernel)
            if last.use_bias:
                logits = logits + last.bias
            return watched, logits, "logit", output
        if type(last).__name__ in ("Activation", "Softmax") and activation in (None, "softmax"):
            return watched, last_input, "logit", output
        return watched, output, "output", output

    def _check_class(self, entry: _ModelEntry, class_index) -> int:
        maximum = entry.info.num_classes - 1
        return check_int(class_index, "class_index", minimum=0, maximum=maximum)

    def saliency(self, key, image, class_index) -> Attribution:
        entry = self._entry(key)
        class_index = self._check_class(entry, class_index)
        _check_input(entry, image, "image")
        batch = self.tf.constant(image[np.newaxis])
        with self.tf.GradientTape() as tape:
            _, scores, score_name, probabilities = self._forward(entry, batch, tape, None)
            score = scores[:, class_index]
        gradient = np.abs(np.asarray(tape.gradient(score, batch))[0]).max(axis=-1)
        probability = float(np.asarray(probabilities)[0, class_index])
        _check_finite(entry, "saliency", probability, gradient)
        peak = float(gradient.max())
        heatmap = gradient / peak if peak > 0 else np.zeros_like(gradient)
        return Attribution(
            "saliency",
            class_index,
            heatmap.astype(np.float32),
            None,
            None,
            score_name,
            probability,
        )

    def grad_cam(self, key, image, class_index, layer=None) -> Attribution:
        entry = self._entry(key)
        class_index = self._check_class(entry, class_index)
        name = default_cam_layer(entry.info) if layer is None else layer
        _check_map_layer(entry.info.layer(name))
        _check_input(entry, image, "image")
        batch = self.tf.constant(image[np.newaxis])
        with self.tf.GradientTape() as tape:
            maps, scores, score_name, probabilities = self._forward(entry, batch, tape, name)
            score = scores[:, class_index]
        gradients = tape.gradient(score, maps)
        weights = self.tf.reduce_mean(gradients, axis=(0, 1, 2))
        cam = self.tf.nn.relu(self.tf.reduce_sum(maps[0] * weights, axis=-1)).numpy()
        probability = float(np.asarray(probabilities)[0, class_index])
        _check_finite(entry, "Grad-CAM", probability, cam)
        peak = float(cam.max())
        coarse = (cam / peak if peak > 0 else np.zeros_like(cam)).astype(np.float32)
        height, width = image.shape[:2]
        import cv2

        heatmap = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
        heatmap = np.clip(heatmap, 0.0, 1.0).astype(np.float32)
        return Attribution("grad_cam", class_index, heatmap, coarse, name, score_name, probability)

    def feature_visualisation(self, key, layer, channel, seed, time_budget):
        """What most excites `channel` of `layer` (`core.worker.feature_visualisation`)."""
        entry = self._entry(key)
        return feature_visualisation.visualise(entry, layer, channel, seed, time_budget)

    def adversarial_example(self, key, image, class_index, attack, epsilon, steps):
        """FGSM or PGD on one image, with Grad-CAM before and after (`core.worker.adversarial`)."""
        entry = self._entry(key)
        class_index = self._check_class(entry, class_index)
        _check_input(entry, image, "image")
        forward = lambda batch, tape: self._forward(entry, batch, tape, None)[1:]  # noqa: E731
        loss = adversarial.model_loss_gradient(self.tf, forward, class_index)
        cam = lambda picture, index: self.grad_cam(key, picture, index)  # noqa: E731
        settings = (attack, epsilon, steps)
        return adversarial.adversarial_example(loss, cam, image, class_index, *settings)

    # -- data sets and the top-activation search ----------------------------

    def _dataset(self, entry: _ModelEntry, dataset: DatasetRef) -> np.ndarray:
        images = self.datasets.get(dataset)
        if images is None:
            x_test, _ = _test_split(dataset)
            settings = Preprocessing(**dict(dataset.preprocessing))
            images = prepare_images(x_test[: dataset.limit], settings, entry.info.input_shape)
            self.datasets[dataset] = images
            while len(self.datasets) > MAX_DATASETS:
                self.datasets.popitem(last=False)
        if images.shape[1:] != tuple(entry.info.input_shape):
            raise ValueError(
                f"The {dataset.name} test images have shape {images.shape[1:]}, but the model "
                f"expects {tuple(entry.info.input_shape)}."
            )
        return images

    def predict_dataset(self, key, dataset) -> tuple[np.ndarray, np.ndarray]:
        entry = self._entry(key)
        if dataset not in entry.predictions:
            probabilities = self.predict(key, self._dataset(entry, dataset))
            _check_finite(entry, "its answers on the test images", probabilities)
            entry.predictions[dataset] = (
                probabilities.argmax(axis=1).astype(np.int64),
                probabilities.max(axis=1).astype(np.float32),
            )
        return entry.predictions[dataset]

    def evaluate_dataset(self, key, dataset) -> Evaluation:
        """Every test image's class probabilities, its true class and the confusion matrix."""
        entry = self._entry(key)
        if dataset not in entry.evaluations:
            images = self._dataset(entry, dataset)
            probabilities = self.predict(key, images)
            _check_finite(entry, "its answers on the test images", probabilities)
            labels = _test_split(dataset)[1][: len(images)]
            labels = np.asarray(labels).astype(np.int64).reshape(-1)
            classes = entry.info.num_classes
            if labels.size and int(labels.max()) >= classes:
                raise ValueError(
                    f"The {dataset.name} test images have {int(labels.max()) + 1} classes, but "
                    f"the model answers with {classes}: choose the data set it was trained on."
                )
            names = [str(index) for index in range(classes)]
            summary, _ = evaluate_predictions(probabilities, labels, names)
            entry.evaluations[dataset] = Evaluation(
                probabilities, labels, np.asarray(summary["confusion_matrix"], dtype=np.int64)
            )
        return entry.evaluations[dataset]

    def scan_step(self, key, layer, dataset, start, count) -> dict:
        entry = self._entry(key)
        info = _check_map_layer(entry.info.layer(layer))
        if layer in entry.info.nan_affected:  # compiled, NaN can come out as 0: refuse first
            raise ValueError(
                nan_weights_message(f"the images that excite {layer} most", entry.info.nan_layers)
            )
        count = check_int(count, "count", minimum=1)
        images = self._dataset(entry, dataset)
        total = len(images)
        state = entry.scans.get((layer, dataset))
        if state is None or start == 0:
            channels = info.output_shape[-1]
            state = {
                "done": 0,
                "max": np.zeros((total, channels), np.float32),
                "mean": np.zeros((total, channels), np.float32),
                "rows": np.zeros((total, channels), np.int32),
                "cols": np.zeros((total, channels), np.int32),
            }
            entry.scans[(layer, dataset)] = state
        if state["done"] >= total:
            return {"done": total, "total": total}
        if layer not in entry.layer_models:
            entry.layer_models[layer] = self._scan_function(entry, layer)
        begin = state["done"]
        end = min(total, begin + count)
        maxima, positions, means = entry.layer_models[layer](images[begin:end])
        width = info.output_shape[1]
        state["max"][begin:end] = maxima.numpy()
        state["mean"][begin:end] = means.numpy()
        positions = positions.numpy()
        state["rows"][begin:end] = positions // width
        state["cols"][begin:end] = positions % width
        state["done"] = end
        return {"done": end, "total": total}

    def _scan_function(self, entry: _ModelEntry, layer: str):
        """A compiled `images → (max, flat argmax, mean)` per map for one layer.

        `tf.function` halves the time of this loop over thousands of images compared with
        eager calls; the reduction runs inside it so only (N, C) arrays leave TensorFlow.
        """
        tf = self.tf
        layer_model = self.keras.Model(entry.model.inputs[0], entry.model.get_layer(layer).output)
        height, width, channels = entry.info.layer(layer).output_shape
        shape = (None, *entry.info.input_shape)

        @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)], autograph=False)
        def scan(images):  # no autograph: it would leave generated files in TMPDIR
            maps = layer_model(images, training=False)
            flat = tf.reshape(maps, (-1, height * width, channels))
            return (
                tf.reduce_max(flat, axis=1),
                tf.argmax(flat, axis=1, output_type=tf.int32),
                tf.reduce_mean(flat, axis=1),
            )

        return scan

    def scan_result(self, key, layer, dataset) -> ScanResult:
        entry = self._entry(key)
        state = entry.scans.get((layer, dataset))
        if state is None or state["done"] < len(state["max"]):
            raise ValueError(f"The search over layer {layer!r} has not finished.")
        _check_finite(entry, f"the images that excite {layer} most", state["max"], state["mean"])
        return ScanResult(layer, state["max"], state["rows"], state["cols"], state["mean"])


# The requests a client may send: the public methods of `Worker`.
REQUESTS = tuple(
    sorted(name for name, value in vars(Worker).items() if callable(value) and name[0] != "_")
)


def _check_input(entry: _ModelEntry, images: np.ndarray, name: str) -> None:
    """Refuse ``image`` (H, W, C) or ``images`` (N, H, W, C) of another shape than the input's."""
    expected = tuple(entry.info.input_shape)
    shape = tuple(images.shape[1:] if name == "images" else images.shape)
    if shape != expected:
        raise ValueError(f"The model expects images of shape {expected}. {received(name, images)}")


def _check_finite(entry: _ModelEntry, what: str, *values) -> None:
    """Refuse to hand out ``what`` when the numbers behind it are NaN or infinite (a model
    whose weights hold NaN), instead of a heatmap or ranking made of them."""
    if not all(np.isfinite(value).all() for value in values):
        raise ValueError(nan_weights_message(what, entry.info.nan_layers))


def _check_map_layer(info: LayerInfo) -> LayerInfo:
    """Refuse a layer without feature maps (Grad-CAM and the top-activation search need them)."""
    if not info.is_map:
        raise ValueError(f"`layer` must output feature maps. {received('layer', info.name)}")
    return info


def serve(reader: Connection, writer: Connection) -> None:
    """Answer requests until the client closes the pipe."""
    worker = Worker()
    writer.send(("ok", {"pid": os.getpid()}))
    while True:
        try:
            method, arguments = reader.recv()
        except (EOFError, OSError):
            return
        try:
            handler = getattr(worker, check_choice(method, "method", REQUESTS))
            writer.send(("ok", handler(**arguments)))
        except ModelRejectedError as error:
            writer.send(("error", "rejected", str(error)))
        except (ValueError, KeyError, TypeError) as error:
            writer.send(("error", "value", str(error)))
        except Exception as error:  # noqa: BLE001 - reported to the page, logged here
            traceback.print_exc()
            writer.send(("error", "other", f"{type(error).__name__}: {error}"))


def main() -> int:
    # The protocol owns the real stdout; everything printed goes to stderr.
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    reader = Connection(0, writable=False)
    writer = Connection(protocol_fd, readable=False)
    serve(reader, writer)
    return 0


def _test_split(dataset: DatasetRef) -> tuple[np.ndarray, np.ndarray]:
    """``x_test, y_test`` of a built-in set, or of a stored model's own test images (a path
    ending in ``.test.npz``, `core.jobs.held_out`)."""
    if dataset.name.endswith(HELD_OUT_SUFFIX):
        held = read_held_out(dataset.name)
        if held is None:
            raise ValueError("The model's own test images cannot be read (missing or damaged).")
        return held["x_test"], held["y_test"]
    loaded = load_builtin(dataset.name, data_dir=dataset.data_dir)
    return loaded.x_test, loaded.y_test
