"""The vocabulary shared by the inference client and the worker: layer kinds, model
descriptions, feature maps, attributions, data-set references and the errors either side raises.

Plain dataclasses (numpy arrays inside), pickled across the pipe between the two processes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from core.base.checks import check_instance, check_int, check_string, received

SCAN_LIMIT = 10_000


SCAN_CHUNK = 1_000


CONV_CLASSES = frozenset(
    {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Convolution2D"}
)


POOL_CLASSES = frozenset({"MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AveragePool2D"})


ACTIVATION_CLASSES = frozenset({"Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax"})


MERGE_CLASSES = frozenset(
    {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"}
)


NORMALIZATION_CLASSES = frozenset(
    {"BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"}
)


MAP_KINDS = ("conv", "activation", "pooling", "merge")


class InferenceError(RuntimeError):
    """The worker could not do what was asked (the message says why)."""


class WorkerCrashedError(InferenceError):
    """The worker process died or stopped answering; the next request starts a new one."""


class ModelRejectedError(ValueError):
    """A model that cannot be inspected here: unsafe, not a Keras file, or not an image CNN."""


def layer_kind(class_name: str) -> str:
    """`"conv"`, `"pooling"`, `"activation"`, `"merge"`, `"normalization"`, `"input"` or
    `"other"` for a Keras layer class.

    A merge (`Add`, `Concatenate`, ...) joins the outputs of several branches into one.

    >>> layer_kind("MaxPooling2D"), layer_kind("Add"), layer_kind("Dense")
    ('pooling', 'merge', 'other')
    """
    if class_name in CONV_CLASSES:
        return "conv"
    if class_name in POOL_CLASSES:
        return "pooling"
    if class_name in ACTIVATION_CLASSES:
        return "activation"
    if class_name in MERGE_CLASSES:
        return "merge"
    if class_name in NORMALIZATION_CLASSES:
        return "normalization"
    if class_name == "InputLayer":
        return "input"
    return "other"


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a model, as the page needs it.

    `output_shape` has no batch axis (None when the layer is shared and has several);
    `kernel_size`, `strides`, `padding`, `dilation_rate` are set for convolutions and pooling
    (pooling reports `pool_size` as `kernel_size`). `activation` is the fused activation of
    conv and dense layers (`"relu"`, `"linear"`, ...) or of an `Activation` layer.

    Where the layer sits in the model's graph: `inbound` names the layers it reads (in the
    order it reads them; a merge has several), `depth` counts the layers on the longest path
    from the input to it (the input is 0). Layers that not every path from the input to the
    output goes through lie in a branch: `block` names the merge layer that joins the branch
    back, `branch` says which branch it is, e.g. `"residual branch (3×3 conv → 3×3 conv)"`,
    `"shortcut (1×1 conv stride 2)"` or `"branch 2 (1×1 conv → 3×3 conv)"`. Both are `""`
    on the main path.
    """

    name: str
    class_name: str
    kind: str
    output_shape: tuple | None
    params: int
    activation: str | None = None
    kernel_size: tuple[int, int] | None = None
    strides: tuple[int, int] | None = None
    padding: str | None = None
    dilation_rate: tuple[int, int] = (1, 1)
    filters: int | None = None
    inbound: tuple[str, ...] = ()
    depth: int = 0
    branch: str = ""
    block: str = ""

    @property
    def is_map(self) -> bool:
        """Whether the layer outputs feature maps the page shows (conv/activation/pooling/merge)."""
        return (
            self.kind in MAP_KINDS and self.output_shape is not None and len(self.output_shape) == 3
        )


@dataclass(frozen=True)
class ModelInfo:
    """What a model is and whether this page can inspect it.

    Attributes:
        path: the `.keras` file.
        name: the model's Keras name.
        input_shape: `(H, W, C)` without the batch axis (`()` when it has several inputs).
        num_classes: units of the output.
        layers: every layer, in order.
        total_params: parameters of the whole model.
        problem: empty for a single-input image CNN, else why it cannot be inspected.
        class_names: from the model's JSON sidecar (`core.jobs.model_store` format) when it has
            one with a name per output; else `()` (a `.keras` file does not store them).
        notes: what a person should know before inspecting it (no convolution layers,
            weights that are not numbers), in words; the model is still accepted.
        nan_layers: the layers whose weights hold NaN or infinite values.
    """

    path: str
    name: str
    input_shape: tuple
    num_classes: int
    layers: tuple[LayerInfo, ...]
    total_params: int
    problem: str = ""
    class_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    nan_layers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def map_layers(self) -> tuple[LayerInfo, ...]:
        return tuple(layer for layer in self.layers if layer.is_map)

    @property
    def conv_layers(self) -> tuple[LayerInfo, ...]:
        return tuple(layer for layer in self.layers if layer.kind == "conv")

    @property
    def last_conv(self) -> LayerInfo | None:
        """The last convolution: the deepest one (most layers between it and the input), so
        no convolution follows it on any path to the output; ties go to the later layer.

        In a residual block that is the main branch's second conv, not the 1×1 shortcut.
        """
        convs = [layer for layer in self.conv_layers if layer.is_map]
        if not convs:
            return None
        order = {layer.name: index for index, layer in enumerate(self.layers)}
        return max(convs, key=lambda layer: (layer.depth, order[layer.name]))

    @property
    def nan_affected(self) -> frozenset[str]:
        """The layers whose output is made from weights that are not numbers: those named
        in `nan_layers` and every layer after them on any path.

        >>> layers = (LayerInfo("in", "InputLayer", "input", (4, 4, 1), 0),
        ...           LayerInfo("a", "Conv2D", "conv", (4, 4, 2), 20, inbound=("in",), depth=1),
        ...           LayerInfo("b", "ReLU", "activation", (4, 4, 2), 0, inbound=("a",), depth=2))
        >>> sorted(ModelInfo("m", "m", (4, 4, 1), 2, layers, 20, nan_layers=("a",)).nan_affected)
        ['a', 'b']
        """
        affected = set(self.nan_layers)
        for layer in sorted(self.layers, key=lambda layer: layer.depth):
            if affected.intersection(layer.inbound):
                affected.add(layer.name)
        return frozenset(affected)

    def layer(self, name: str) -> LayerInfo:
        """The layer called ``name``.

        Raises:
            TypeError: ``name`` is not a string.
            ValueError: the model has no layer of that name.
        """
        check_string(name, "layer")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"`layer` must name a layer of {self.name}. {received('layer', name)}")


def nan_weights_message(what: str, layers: tuple[str, ...] | list[str] = ()) -> str:
    """Why ``what`` cannot be shown for a model whose weights hold NaN or infinite values.

    >>> nan_weights_message("its prediction", ["conv_2"])[:88]
    "This model's weights hold NaN or infinite values (in conv_2), so its prediction can't be"
    """
    where = f" (in {', '.join(layers[:5])}{', …' if len(layers) > 5 else ''})" if layers else ""
    return (
        f"This model's weights hold NaN or infinite values{where}, so {what} can't be shown: "
        "what comes out of those layers is not a number. Its training diverged or the file is "
        "damaged; retrain it (a smaller learning rate often helps) or choose another model."
    )


@dataclass(frozen=True)
class FeatureMaps:
    """Every conv/activation/pooling output for one input image.

    Attributes:
        maps: layer name → float32 `(H, W, C)`, in layer order.
        pre_activations: layer name → float32 `(H, W, C)` before the layer's non-linearity:
            for conv layers with a fused activation (not linear) and for activation layers
            (their input).
        probabilities: float32 `(num_classes,)`.
        worker_ms: time spent in the worker (the model call and conversions).
    """

    maps: dict[str, np.ndarray]
    pre_activations: dict[str, np.ndarray]
    probabilities: np.ndarray
    worker_ms: float


@dataclass(frozen=True)
class FilterWeights:
    """A conv layer's kernels `(kh, kw, in_channels, filters)` and biases `(filters,)`."""

    layer: str
    kernels: np.ndarray
    bias: np.ndarray | None


@dataclass(frozen=True)
class Attribution:
    """Where in the input the evidence for a class is, as a heatmap in [0, 1].

    Attributes:
        method: `"saliency"` (|∂score/∂pixel|, max over channels) or `"grad_cam"`.
        class_index: the class explained.
        heatmap: float32 `(H, W)` at the input's size, values in [0, 1].
        coarse: Grad-CAM at the conv layer's own resolution `(h, w)` in [0, 1], else None.
        layer: the conv layer Grad-CAM used, else None.
        score: what was differentiated: the class logit when the model ends in softmax.
        probability: the model's probability for the class.
    """

    method: str
    class_index: int
    heatmap: np.ndarray
    coarse: np.ndarray | None
    layer: str | None
    score: str
    probability: float


@dataclass(frozen=True)
class DatasetRef:
    """Which test images to use: a built-in data set, prepared like the model's training data.

    `preprocessing` is a dict of `core.data.preprocessing.Preprocessing` fields; `limit` caps the
    number of test images (the first `limit`). `data_dir` is where the page found the data
    set (`core.data.builtin.lookup_settings()`), so the worker reads exactly the same images.
    """

    name: str
    preprocessing: tuple[tuple[str, object], ...]
    limit: int = SCAN_LIMIT
    data_dir: str | None = None

    @classmethod
    def make(
        cls, name: str, preprocessing: dict, *, limit: int = SCAN_LIMIT, data_dir=None
    ) -> DatasetRef:
        """A hashable reference from a dict of preprocessing fields.

        >>> DatasetRef.make("mnist", {"target_size": 28}, limit=100).preprocessing
        (('target_size', 28),)
        """
        check_instance(preprocessing, "preprocessing", dict)
        limit = check_int(limit, "limit", minimum=0)
        return cls(name, tuple(sorted(preprocessing.items())), limit, data_dir)


@dataclass(frozen=True)
class TopExamples:
    """The test images that excite one filter most (Zeiler & Fergus), best first.

    `rows`, `cols` give where in the feature map the maximum was, for drawing the unit's
    receptive field on each image.
    """

    layer: str
    filter_index: int
    indices: np.ndarray
    scores: np.ndarray
    rows: np.ndarray
    cols: np.ndarray


@dataclass
class ScanResult:
    """Per test image and filter: the maximum activation of one layer, where it was, the mean."""

    layer: str
    max_values: np.ndarray  # float32 (N, C)
    argmax_rows: np.ndarray  # int32 (N, C)
    argmax_cols: np.ndarray  # int32 (N, C)
    mean_values: np.ndarray | None = None  # float32 (N, C), breaks ties of the maximum
    seconds: float = 0.0

    def top(self, filter_index: int, k: int = 9) -> TopExamples:
        """The `k` images with the largest maximum activation of `filter_index`.

        Ties (common in the first layer, where many images contain a patch of pure white)
        go to the image whose whole map responds more on average.

        Raises:
            TypeError: ``filter_index`` or ``k`` is not an int.
            ValueError: a filter the layer does not have, or ``k`` < 1.
        """
        channels = self.max_values.shape[1]
        filter_index = check_int(filter_index, "filter_index", minimum=0, maximum=channels - 1)
        values = self.max_values[:, filter_index]
        k = min(check_int(k, "k", minimum=1), len(values))
        if self.mean_values is None:
            order = np.argsort(-values, kind="stable")[:k]
        else:
            order = np.lexsort((-self.mean_values[:, filter_index], -values))[:k]
        return TopExamples(
            self.layer,
            filter_index,
            order,
            values[order],
            self.argmax_rows[order, filter_index],
            self.argmax_cols[order, filter_index],
        )


@dataclass(frozen=True)
class Evaluation:
    """A model's answers on the labelled test images: where it is wrong, and how badly.

    Attributes:
        probabilities: float32 `(N, num_classes)`, one row per test image.
        labels: int64 `(N,)`: each image's true class.
        confusion: int64 `(num_classes, num_classes)`: row = true class, column = predicted.

    >>> result = Evaluation(np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]),
    ...                         np.array([0, 0, 1]), np.array([[1, 1], [1, 0]]))
    >>> result.predicted.tolist(), result.cell(0, 1).tolist(), result.top_losses(1).tolist()
    ([0, 1, 0], [1], [1])
    """

    probabilities: np.ndarray
    labels: np.ndarray
    confusion: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """The predicted class of each image (the largest probability; ties: the first)."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted class, per image."""
        return self.probabilities.max(axis=1)

    @property
    def losses(self) -> np.ndarray:
        """Cross-entropy per image, −log p(true class), p clipped at 1e-7 as Keras does."""
        rows = np.arange(len(self.labels))
        true = self.probabilities[rows, self.labels].astype(np.float64)
        return -np.log(np.clip(true, 1e-7, 1.0))

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predicted == self.labels)) if len(self.labels) else 0.0

    def cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Indices of the images of class `true_class` predicted as `predicted_class`,
        most confident first.

        Raises:
            TypeError: a class that is not an int.
            ValueError: a class the model does not have.
        """
        last = self.probabilities.shape[1] - 1
        true_class = check_int(true_class, "true_class", minimum=0, maximum=last)
        predicted_class = check_int(predicted_class, "predicted_class", minimum=0, maximum=last)
        chosen = np.flatnonzero((self.labels == true_class) & (self.predicted == predicted_class))
        return chosen[np.argsort(-self.confidence[chosen], kind="stable")]

    def top_losses(self, k: int = 16) -> np.ndarray:
        """Indices of the `k` images with the highest loss, highest first."""
        k = check_int(k, "k", minimum=1)
        return np.argsort(-self.losses, kind="stable")[:k]

    def predictions_csv(self, class_names) -> str:
        """One row per test image: index, true, predicted, confidence, then p(class) per class."""
        names = _class_names(class_names, self.probabilities.shape[1])
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["index", "true", "predicted", "confidence", *(f"p({n})" for n in names)])
        for index, (label, guess, row) in enumerate(
            zip(self.labels, self.predicted, self.probabilities, strict=True)
        ):
            values = [f"{value:.6f}" for value in row]
            writer.writerow([index, names[label], names[guess], values[guess], *values])
        return text.getvalue()

    def confusion_csv(self, class_names) -> str:
        """The confusion matrix with class names: a row per true class, a column per predicted.

        >>> Evaluation(np.eye(2), np.arange(2), np.eye(2, dtype=int)).confusion_csv("ab")
        'true \\\\ predicted,a,b\\na,1,0\\nb,0,1\\n'
        """
        names = _class_names(class_names, self.confusion.shape[1])
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["true \\ predicted", *names])
        for name, row in zip(names, self.confusion, strict=True):
            writer.writerow([name, *(int(count) for count in row)])
        return text.getvalue()


def _class_names(class_names, count: int) -> list[str]:
    """`count` class names as strings; refuses a list of another length."""
    names = [str(name) for name in class_names]
    if len(names) != count:
        raise ValueError(f"`class_names` must hold {count} names. {received('class_names', names)}")
    return names


PIXEL_LEVELS = 255  # network inputs are [0, 1] (`core.data.network_input`): 1 level = 1/255


FEATURE_TIME_BUDGET = 8.0  # seconds of gradient ascent at most (issue 13: ≤ 10 s on 2 cores)


MAX_FEATURE_TIME_BUDGET = 60.0  # what a caller may ask for instead


ATTACK_METHODS = ("fgsm", "pgd")


MAX_EPSILON = 0.5  # half the input range: beyond that the "small change" is the whole image


MAX_ATTACK_STEPS = 100


@dataclass(frozen=True)
class FeatureVisualisation:
    """The input that excites one channel of a layer most, found by gradient ascent.

    Attributes:
        layer, channel: the channel made to fire.
        image: float32 `(H, W, C)` in [0, 1], like any network input.
        activation: the channel's mean activation on `image`.
        start_activation: the same on the starting noise.
        steps: gradient steps taken; `stopped_early` when the time budget cut them short.
        seconds: time spent in the worker.
    """

    layer: str
    channel: int
    image: np.ndarray
    activation: float
    start_activation: float
    steps: int
    seconds: float
    stopped_early: bool


@dataclass(frozen=True)
class AdversarialExample:
    """An input nudged within ±`epsilon` per pixel to raise the loss of `class_index`.

    Attributes:
        method: `"fgsm"` (one step of size `epsilon`) or `"pgd"` (`steps` steps of `step_size`).
        image: float32 `(H, W, C)` in [0, 1]; `perturbation` is `image` minus the original.
        probabilities_before, probabilities_after: float32 `(num_classes,)`.
        loss_before, loss_after: cross-entropy of `class_index`.
        cam_before, cam_after: Grad-CAM of each input's predicted class (None without maps).
    """

    method: str
    epsilon: float
    steps: int
    step_size: float
    class_index: int
    image: np.ndarray
    perturbation: np.ndarray
    probabilities_before: np.ndarray
    probabilities_after: np.ndarray
    loss_before: float
    loss_after: float
    cam_before: Attribution | None
    cam_after: Attribution | None
