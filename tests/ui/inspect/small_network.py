"""A small CNN described with `core.jobs.inspection`'s dataclasses, computed in numpy.

Input 8×8×1 → ``conv`` (Conv2D 4 filters 3×3 same, ReLU) → ``pool`` (MaxPooling2D 2×2)
→ ``conv2`` (Conv2D 2 filters 3×3 valid, linear) → ``flatten`` → ``dense`` (3, softmax).

The feature maps are computed here with scipy, from the same kernels `ArrayWorker.filters`
returns, so what the Inspect sections show can be checked against known numbers. The
sections take the inference worker's client as an argument; `ArrayWorker` answers its
requests from these arrays, so no TensorFlow worker is started.

`branched_info` is a second small model with branches (a residual block with an identity
shortcut, then a two-branch Inception-like module), described as the worker describes it
(`annotate_graph`); its maps are random arrays of the right shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import correlate2d

from core.jobs.inspection import (
    Attribution,
    FeatureMaps,
    FilterWeights,
    InferenceError,
    LayerInfo,
    ModelInfo,
    ScanResult,
)
from core.jobs.worker_client import ActivationScan
from core.worker.model_description import annotate_graph

PATH = "/models/small.keras"
CLASS_NAMES = ("zero", "one", "two")
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)


def layers() -> tuple[LayerInfo, ...]:
    return (
        LayerInfo("input", "InputLayer", "input", (8, 8, 1), 0),
        LayerInfo(
            "conv",
            "Conv2D",
            "conv",
            (8, 8, 4),
            3 * 3 * 1 * 4 + 4,
            activation="relu",
            kernel_size=(3, 3),
            strides=(1, 1),
            padding="same",
            filters=4,
            inbound=("input",),
        ),
        LayerInfo(
            "pool",
            "MaxPooling2D",
            "pooling",
            (4, 4, 4),
            0,
            kernel_size=(2, 2),
            strides=(2, 2),
            padding="valid",
            inbound=("conv",),
        ),
        LayerInfo(
            "conv2",
            "Conv2D",
            "conv",
            (2, 2, 2),
            3 * 3 * 4 * 2 + 2,
            activation="linear",
            kernel_size=(3, 3),
            strides=(1, 1),
            padding="valid",
            filters=2,
            inbound=("pool",),
        ),
        LayerInfo("flatten", "Flatten", "other", (8,), 0, inbound=("conv2",)),
        LayerInfo("dense", "Dense", "other", (3,), 8 * 3 + 3, "softmax", inbound=("flatten",)),
    )


def model_info(**changes) -> ModelInfo:
    values = dict(
        path=PATH,
        name="small",
        input_shape=(8, 8, 1),
        num_classes=3,
        layers=layers(),
        total_params=40 + 74 + 27,
    )
    return ModelInfo(**(values | changes))


@dataclass
class Weights:
    conv: np.ndarray  # (3, 3, 1, 4)
    conv_bias: np.ndarray
    conv2: np.ndarray  # (3, 3, 4, 2)
    conv2_bias: np.ndarray
    dense: np.ndarray  # (8, 3)


def weights() -> Weights:
    rng = np.random.default_rng(0)
    conv = rng.normal(size=(3, 3, 1, 4)).astype(np.float32)
    conv[:, :, 0, 0] = SOBEL_X  # filter 0 is a vertical-edge detector
    return Weights(
        conv,
        np.array([0.0, -0.5, 0.1, 0.0], np.float32),
        rng.normal(size=(3, 3, 4, 2)).astype(np.float32),
        np.array([0.2, -0.2], np.float32),
        0.1 * rng.normal(size=(8, 3)).astype(np.float32),
    )


def edge_image() -> np.ndarray:
    """A bright right half: a vertical edge down the middle."""
    image = np.zeros((8, 8, 1), np.float32)
    image[:, 4:] = 1.0
    return image


def feature_maps(image: np.ndarray, w: Weights | None = None) -> FeatureMaps:
    """The small network's maps for `image`, by direct correlation (as Keras' Conv2D does)."""
    w = weights() if w is None else w
    pre = np.stack(
        [
            correlate2d(image[:, :, 0], w.conv[:, :, 0, f], mode="same") + w.conv_bias[f]
            for f in range(4)
        ],
        axis=2,
    ).astype(np.float32)
    conv = np.maximum(pre, 0)
    pool = conv.reshape(4, 2, 4, 2, 4).max(axis=(1, 3))
    conv2 = np.stack(
        [
            sum(correlate2d(pool[:, :, c], w.conv2[:, :, c, f], mode="valid") for c in range(4))
            + w.conv2_bias[f]
            for f in range(2)
        ],
        axis=2,
    ).astype(np.float32)
    logits = conv2.reshape(-1) @ w.dense
    probabilities = np.exp(logits - logits.max())
    probabilities = (probabilities / probabilities.sum()).astype(np.float32)
    return FeatureMaps(
        maps={"conv": conv, "pool": pool, "conv2": conv2},
        pre_activations={"conv": pre},
        probabilities=probabilities,
        worker_ms=1.0,
    )


@dataclass
class ArrayWorker:
    """Answers the inference worker's requests for the small network from numpy arrays.

    `requests` records what was asked; a method named in `failing` raises `InferenceError`.
    `scan_steps` is how far a search has got when it is looked at (None: finished).
    """

    weights: Weights = field(default_factory=weights)
    more_filters: dict[str, FilterWeights] = field(default_factory=dict)
    map_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # layer: (side, maps)
    failing: tuple[str, ...] = ()
    scan_steps: int | None = None
    scan_error: str | None = None
    requests: list[tuple] = field(default_factory=list)
    scans: dict = field(default_factory=dict)

    def _ask(self, method: str, *arguments) -> None:
        self.requests.append((method, *arguments))
        if method in self.failing:
            raise InferenceError(f"The worker could not answer {method}.")

    def filters(self, path, layer: str | None = None) -> FilterWeights:
        self._ask("filters", path, layer)
        if layer in self.more_filters:
            return self.more_filters[layer]
        if layer in (None, "conv"):
            return FilterWeights("conv", self.weights.conv, self.weights.conv_bias)
        if layer == "conv2":
            return FilterWeights("conv2", self.weights.conv2, self.weights.conv2_bias)
        raise ValueError(f"`layer` must name a conv layer of small. Received: layer={layer!r}")

    def saliency(self, path, image, class_index: int) -> Attribution:
        self._ask("saliency", path, int(class_index))
        heat = np.zeros(image.shape[:2], np.float32)
        heat[:, 3:5] = 1.0  # the edge
        return Attribution("saliency", class_index, heat, None, None, "logit", 0.5)

    def grad_cam(self, path, image, class_index: int, *, layer: str | None = None):
        self._ask("grad_cam", path, int(class_index), layer)
        coarse = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)
        heat = np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)
        probability = float(feature_maps(image, self.weights).probabilities[class_index])
        return Attribution("grad_cam", class_index, heat, coarse, layer, "logit", probability)

    def existing_scan(self, path, layer: str, dataset) -> ActivationScan | None:
        return self.scans.get(layer)

    def scan_activations(self, path, layer: str, dataset) -> ActivationScan:
        self._ask("scan_activations", path, layer, dataset)
        scan = ActivationScan(key=(path, layer, dataset), total=dataset.limit)
        if self.scan_error is not None:
            scan.error = self.scan_error
        elif self.scan_steps is not None:
            scan.done = self.scan_steps
        else:
            scan.done = dataset.limit
            scan.result = self.scan_result(layer, dataset.limit)
        self.scans[layer] = scan
        return scan

    def scan_result(self, layer: str, count: int) -> ScanResult:
        """Image i responds i·(filter + 1) at the map's last unit: the last images win."""
        sizes = {"conv": (8, 4), "pool": (4, 4), "conv2": (2, 2)} | self.map_sizes
        side, channels = sizes[layer]
        scores = np.outer(np.arange(count), np.arange(1, channels + 1)).astype(np.float32)
        last = np.full((count, channels), side - 1, np.int32)
        return ScanResult(layer, scores, last, last.copy(), seconds=1.5)


def branched_layers() -> tuple[LayerInfo, ...]:
    """8×8×1 → stem (3×3, 4, ReLU) → [a1 (3×3, 4) → bn → a_relu] + identity → add
    → [tower_1 (1×1, 2, ReLU)] [tower_3 (3×3, 3, ReLU)] → mixed (Concatenate, 5)
    → pool (2×2) → gap → dense (3, softmax).

    Receptive fields by hand: stem 3, a1 5, add 5 (union of 5 and 3), tower_1 5, tower_3 7,
    mixed 7 (union of 5 and 7), pool 8 with jump 2.
    """
    same = dict(strides=(1, 1), padding="same")

    def conv(name, size, filters, activation, *inbound):
        return LayerInfo(
            name,
            "Conv2D",
            "conv",
            (8, 8, filters),
            size * size * 4 * filters + filters,
            activation=activation,
            kernel_size=(size, size),
            filters=filters,
            inbound=inbound,
            **same,
        )

    def plain(name, class_name, kind, shape, *inbound):
        return LayerInfo(name, class_name, kind, shape, 0, inbound=inbound)

    return annotate_graph(
        (
            plain("input", "InputLayer", "input", (8, 8, 1)),
            conv("stem", 3, 4, "relu", "input"),
            conv("a1", 3, 4, "linear", "stem"),
            plain("bn", "BatchNormalization", "normalization", (8, 8, 4), "a1"),
            plain("a_relu", "ReLU", "activation", (8, 8, 4), "bn"),
            plain("add", "Add", "merge", (8, 8, 4), "a_relu", "stem"),
            conv("tower_3", 3, 3, "relu", "add"),
            conv("tower_1", 1, 2, "relu", "add"),
            plain("mixed", "Concatenate", "merge", (8, 8, 5), "tower_1", "tower_3"),
            LayerInfo(
                "pool",
                "MaxPooling2D",
                "pooling",
                (4, 4, 5),
                0,
                kernel_size=(2, 2),
                strides=(2, 2),
                padding="valid",
                inbound=("mixed",),
            ),
            plain("gap", "GlobalAveragePooling2D", "other", (5,), "pool"),
            LayerInfo("dense", "Dense", "other", (3,), 18, "softmax", inbound=("gap",)),
        )
    )


def branched_info(**changes) -> ModelInfo:
    values = dict(
        path=PATH,
        name="branched",
        input_shape=(8, 8, 1),
        num_classes=3,
        layers=branched_layers(),
        total_params=sum(layer.params for layer in branched_layers()),
    )
    return ModelInfo(**(values | changes))


def branched_maps(seed: int = 0) -> FeatureMaps:
    """Random maps of the right shapes for every map layer of `branched_info`."""
    rng = np.random.default_rng(seed)
    maps = {
        layer.name: rng.normal(size=layer.output_shape).astype(np.float32)
        for layer in branched_info().map_layers
    }
    return FeatureMaps(maps, {}, np.array([0.2, 0.7, 0.1], np.float32), 1.0)


def branched_worker() -> ArrayWorker:
    """Answers filter requests for the branched model's convolutions (random kernels)."""
    rng = np.random.default_rng(1)
    kernels = {
        layer.name: FilterWeights(
            layer.name,
            rng.normal(size=(*layer.kernel_size, 4, layer.filters)).astype(np.float32),
            np.zeros(layer.filters, np.float32),
        )
        for layer in branched_info().conv_layers
    }
    kernels["stem"] = FilterWeights(
        "stem", rng.normal(size=(3, 3, 1, 4)).astype(np.float32), np.zeros(4, np.float32)
    )
    sizes = {layer.name: layer.output_shape[1:] for layer in branched_info().map_layers}
    return ArrayWorker(more_filters=kernels, map_sizes=sizes)
