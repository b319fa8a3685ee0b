"""Transfer learning as data: which pretrained bases exist, whether their ImageNet weights are
in Keras' cache, and the summary rows the page shows, all without importing Keras."""

from __future__ import annotations

from pathlib import Path

from core.base.checks import as_int_tuple, check_choice, check_int
from core.base.paths import keras_home
from core.nets.specs import (
    MOBILENET_V2_BASE_PARAMS,
    MOBILENET_V2_FEATURES,
    MOBILENET_V2_SIZES,
    MOBILENET_V2_STRIDE,
    MOBILENET_V2_URL,
)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights are not in the Keras cache and cannot be downloaded now."""


TRANSFER_BASES = ("MobileNetV2",)


def imagenet_weights_path(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), base: str = "MobileNetV2"
) -> Path:
    """Where Keras caches the ImageNet weights (no top) that `build_transfer_model` needs.

    MobileNetV2 has weights for square inputs of 96, 128, 160, 192 and 224 pixels; other
    sizes use the 224 ones (the convolution weights fit any size).

    >>> imagenet_weights_path(input_shape=(96, 96, 3)).name
    'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5'
    """
    _check_base(base)
    rows = _weights_rows(input_shape)
    filename = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    return keras_home() / "models" / filename


def _weights_rows(input_shape) -> int:
    """The square size whose ImageNet weights Keras uses for `input_shape` (224 otherwise)."""
    height, width = input_shape[0], input_shape[1]
    return height if height == width and height in MOBILENET_V2_SIZES else 224


def imagenet_weights_cached(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), base: str = "MobileNetV2"
) -> bool:
    """Whether the ImageNet weights for `build_transfer_model` are in the Keras cache.

    The Train page offers pretrained weights only when this is True or a download can work.

    >>> isinstance(imagenet_weights_cached(input_shape=(96, 96, 3)), bool)
    True
    """
    return imagenet_weights_path(input_shape=input_shape, base=base).is_file()


def imagenet_weights_advice(
    *, input_shape: tuple[int, int, int] = (224, 224, 3), base: str = "MobileNetV2"
) -> str:
    """How to put the ImageNet weights file into the Keras cache by hand (one sentence).

    >>> "_96_no_top.h5" in imagenet_weights_advice(input_shape=(96, 96, 3))
    True
    """
    weights_file = imagenet_weights_path(input_shape=input_shape, base=base)
    url = MOBILENET_V2_URL + weights_file.name
    return (
        f"Download {url} and save it as {weights_file}, or on a machine with internet run "
        '`python -c "import keras; keras.applications.MobileNetV2('
        f"input_shape=({input_shape[0]}, {input_shape[1]}, 3), include_top=False, "
        "weights='imagenet')\"` and copy ~/.keras/models/ here."
    )


def _check_base(base: str) -> str:
    return check_choice(base, "base", TRANSFER_BASES)


# Command-line / preset-style names of the transfer models, and their base.
TRANSFER_MODELS: dict[str, str] = {"mobilenet_v2_transfer": "MobileNetV2"}


TRANSFER_WEIGHTS = ("imagenet", None)


MIN_TRANSFER_SIZE = 32


def transfer_entry(base: str = "MobileNetV2", *, weights: str | None = "imagenet") -> dict:
    """The JSON-safe description of a transfer model that `TrainingJob.start` accepts.

    The worker builds it with `build_transfer_model` for the data's input shape and number
    of classes.

    Args:
        base: one of `TRANSFER_BASES`.
        weights: `"imagenet"` (pretrained base) or None (the same architecture, random weights).

    >>> transfer_entry(weights=None)
    {'transfer': 'MobileNetV2', 'weights': None}
    """
    _check_base(base)
    check_choice(weights, "weights", TRANSFER_WEIGHTS)
    return {"transfer": base, "weights": weights}


def transfer_input_problem(
    input_shape: tuple[int, int, int], *, base: str = "MobileNetV2"
) -> str | None:
    """Why images of `input_shape` cannot train a transfer model, or None when they can.

    MobileNetV2's ImageNet filters look at colour photos of at least 32×32 pixels, so the
    data must be RGB and at least that large.

    >>> transfer_input_problem((96, 96, 3)) is None
    True
    >>> transfer_input_problem((28, 28, 1)).startswith("MobileNetV2 needs RGB")
    True
    """
    _check_base(base)
    height, width, channels = as_int_tuple(input_shape, "input_shape", length=3)
    if channels == 3 and min(height, width) >= MIN_TRANSFER_SIZE:
        return None
    shape = "×".join(str(d) for d in (height, width, channels))
    return (
        f"{base} needs RGB images (3 channels) of at least {MIN_TRANSFER_SIZE}×"
        f"{MIN_TRANSFER_SIZE} pixels; this data gives {shape}. Choose RGB colour and an image "
        f"size of {MIN_TRANSFER_SIZE} or more (96 to 224 suits "
        "the ImageNet weights best), or choose another architecture."
    )


def transfer_summary_rows(
    input_shape: tuple[int, int, int], num_classes: int, *, base: str = "MobileNetV2"
) -> list[dict]:
    """The layer table of a transfer model, like `ModelSummary.to_rows` (no Keras import).

    The frozen base is one row; the head (global average pooling, dropout, Dense softmax)
    has a row per layer. Multiply-adds and receptive fields are left empty (None).

    >>> rows = transfer_summary_rows((96, 96, 3), 2)
    >>> [(row["Layer"], row["Output shape"], row["Parameters"]) for row in rows[1:3]]
    [('mobilenetv2_1.00_96', '3 × 3 × 1280', 2257984), ('global_average_pooling2d', '1280', 0)]
    >>> rows[-1]["Parameters"]  # (1280 + 1) × 2
    2562
    """
    _check_base(base)
    height, width, _ = as_int_tuple(input_shape, "input_shape", length=3)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    features = MOBILENET_V2_FEATURES
    grid = (-(-height // MOBILENET_V2_STRIDE), -(-width // MOBILENET_V2_STRIDE))
    layers = [
        ("rescaling", "Rescaling", "[0, 1] → [-1, 1]", input_shape, 0, 0),
        (
            f"mobilenetv2_1.00_{height}",
            f"{base} (frozen)",
            "pretrained base, not trained",
            (*grid, features),
            MOBILENET_V2_BASE_PARAMS,
            0,
        ),
        ("global_average_pooling2d", "GlobalAveragePooling2D", "", (features,), 0, 0),
        ("dropout", "Dropout", "rate=0.2", (features,), 0, 0),
        (
            "dense",
            "Dense",
            f"units={num_classes}, softmax (trained)",
            (num_classes,),
            (features + 1) * num_classes,
            (features + 1) * num_classes,
        ),
    ]
    return [
        {
            "#": index,
            "Layer": name,
            "Type": kind,
            "Settings": settings,
            "Output shape": " × ".join(str(d) for d in shape),
            "Parameters": params,
            "Trainable": trainable,
        }
        for index, (name, kind, settings, shape, params, trainable) in enumerate(layers, start=1)
    ]
