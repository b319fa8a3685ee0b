"""The architecture gallery: famous CNNs and the course's own networks, in the order they
appeared, each with what makes it special in plain words and, for the small ones, the data
set it trains on here.

`network(key)` gives the spec of any entry (a seed preset from `core.nets.presets` or a
famous network from `core.nets.famous`); `TRAIN_PRESETS` lists the ones the Train page
offers.

>>> [entry.key for entry in GALLERY][:4]
['lenet5', 'alexnet', 'vgg16', 'googlenet']
>>> network("tinyvgg").input_shape
(64, 64, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

from core.base.checks import check_choice
from core.nets.famous import FAMOUS, VGG16_CONV_BASE_END, famous
from core.nets.presets import PRESETS, preset
from core.nets.specs import ModelSpec


@dataclass(frozen=True)
class GalleryEntry:
    """One network of the gallery.

    Attributes:
        key: the name `network` takes (a preset or famous network).
        title: how people call it, e.g. `"VGG16"`.
        origin: who made it and when, e.g. `"Simonyan & Zisserman, 2014"`.
        special: what is new or typical about it, a few sentences in plain words.
        train_on: the Train page's data source it trains on here (`"mnist"`, `"cifar10"`,
            `"zip"` for the user's own photos), or None when it is too big to train here.
        part: `(label, last layer)` of a part worth its own parameter count, e.g. VGG16's
            convolutional base, or None.
        left_out: what of the original the spec leaves out, or "".
    """

    key: str
    title: str
    origin: str
    special: tuple[str, ...]
    train_on: str | None = None
    part: tuple[str, str] | None = None
    left_out: str = ""


GALLERY: tuple[GalleryEntry, ...] = (
    GalleryEntry(
        "lenet5",
        "LeNet-5",
        "LeCun, Bottou, Bengio & Haffner, 1998 (the Keras version of the course)",
        (
            "The pattern every CNN since has followed: convolution, shrink, convolution, "
            "shrink, then a few dense layers that decide.",
            "Tiny by today's standards: six 5×5 filters in the first layer scan the whole "
            "image with the same weights, so it needs only 61,706 parameters.",
            "It uses tanh and average pooling; ReLU and max pooling came later.",
        ),
        train_on="mnist",
        left_out="The original read 32×32 images; here the first convolution pads ('same') so "
        "28×28 MNIST digits give the same sizes further on.",
    ),
    GalleryEntry(
        "alexnet",
        "AlexNet",
        "Krizhevsky, Sutskever & Hinton, 2012",
        (
            "It won the ImageNet competition of 2012 by a wide margin and started the deep "
            "learning boom.",
            "ReLU instead of tanh made it train several times faster; dropout in the dense "
            "layers fought overfitting; two graphics cards trained it in about a week.",
            "Big 11×11 filters with stride 4 shrink the 227×227 photo quickly. Most of its "
            "62 million parameters (94%) sit in the three dense layers.",
        ),
        left_out="Local response normalisation and the split of the layers over two GPUs are "
        "left out (one tower, as most re-implementations do).",
    ),
    GalleryEntry(
        "vgg16",
        "VGG16",
        "Simonyan & Zisserman, 2014",
        (
            "Only 3×3 convolutions: two in a row see 5×5 pixels and three see 7×7, with fewer "
            "weights and more ReLUs than one big filter.",
            "Every time pooling halves the map, the number of filters doubles (64 → 512).",
            "Its convolutional base (14,714,688 parameters) is the classic part to reuse for "
            "transfer learning; the three dense layers hold the other 123.6 million.",
        ),
        part=("Convolutional base", VGG16_CONV_BASE_END),
    ),
    GalleryEntry(
        "googlenet",
        "GoogLeNet (Inception v1)",
        "Szegedy et al., 2014",
        (
            "The Inception module: instead of choosing between a 1×1, 3×3 or 5×5 filter or "
            "pooling, it does all four side by side and stacks their outputs.",
            "1×1 'reduce' convolutions shrink the channels before the costly 3×3 and 5×5 "
            "filters, so the network can be wide and deep yet cheap.",
            "Global average pooling replaces the big dense layers: 22 layers with weights, yet "
            "9 times fewer parameters than AlexNet.",
        ),
        left_out="The two extra classifiers used only during training and local response "
        "normalisation are left out.",
    ),
    GalleryEntry(
        "resnet18",
        "ResNet-18",
        "He, Zhang, Ren & Sun, 2015",
        (
            "Residual blocks: each block adds its input back to its output (x + F(x)), so it "
            "only has to learn a correction, and the gradient flows back through the shortcut.",
            "That made very deep networks trainable: the 152-layer version won ImageNet 2015.",
            "Where a block halves the map and doubles the channels, the shortcut is a 1×1 "
            "convolution with stride 2 (a projection) so the two can be added.",
            "Batch normalisation after every convolution; the convolutions need no bias. "
            "PyTorch counts 11,689,512 parameters; Keras adds the 9,600 running means and "
            "variances of batch normalisation, which are not trained.",
        ),
    ),
    GalleryEntry(
        "resnet20",
        "ResNet-20 (CIFAR-10)",
        "He, Zhang, Ren & Sun, 2015",
        (
            "The residual network the ResNet paper trained on 32×32 CIFAR-10 photos: three "
            "stages of three basic blocks with 16, 32 and 64 filters.",
            "Small enough to train here, and a good place to see a shortcut at work.",
        ),
        train_on="cifar10",
        left_out="The paper pads the shortcut with zeros where the channels double; here a "
        "1×1 projection does it (2,752 more trainable parameters).",
    ),
    GalleryEntry(
        "tinyvgg",
        "TinyVGG",
        "Wang et al., CNN Explainer, 2020",
        (
            "VGG in miniature: two blocks of two 3×3 convolutions and a max pooling, with only "
            "10 filters each, so every feature map can be drawn and understood.",
            "19,920 parameters on 64×64 colour images.",
        ),
        train_on="cifar10",
    ),
    GalleryEntry(
        "mlp",
        "MLP (the course's baseline)",
        "The course texts",
        (
            "No convolutions at all: the image is flattened into 784 numbers, so the network "
            "sees pixels, not neighbourhoods.",
            "669,706 parameters, three times more than MNIST CNN A, and it still does worse: "
            "the reason CNNs win on images.",
        ),
        train_on="mnist",
    ),
    GalleryEntry(
        "mnist_cnn_a",
        "MNIST CNN A",
        "The course texts",
        (
            "Two convolution + max-pooling blocks (32 and 64 filters) and a small dense head; "
            "220,234 parameters and about 99.2% test accuracy on MNIST.",
            "'same' padding keeps 28×28, so pooling halves it to 14 and 7.",
        ),
        train_on="mnist",
    ),
    GalleryEntry(
        "mnist_cnn_b",
        "MNIST CNN B",
        "The course texts",
        (
            "Like CNN A but with 'valid' padding and a third convolution: the maps shrink "
            "26 → 13 → 11 → 5 → 3, and the network needs only 93,322 parameters.",
        ),
        train_on="mnist",
    ),
    GalleryEntry(
        "mnist_cnn_c",
        "MNIST CNN C (book)",
        "The course's book chapter",
        (
            "Bigger 5×5 filters, 64 and 128 of them, a 1,024-unit dense layer and dropout: "
            "97.66% after 20 epochs in the book, against about 91% for an MLP.",
        ),
        train_on="mnist",
    ),
    GalleryEntry(
        "cifar10_cnn",
        "CIFAR-10 CNN",
        "The course texts",
        (
            "Three small 2×2 convolution blocks (16, 32, 64 filters) with dropout for 32×32 "
            "colour photos; 528,054 parameters, about 44% after one epoch.",
        ),
        train_on="cifar10",
    ),
    GalleryEntry(
        "dogs_vs_cats_cnn",
        "Dogs vs cats CNN",
        "The course's tutorial blog",
        (
            "A small VGG-like network for 64×64 colour photos of two classes: 8,446,466 "
            "parameters, most of them in the dense layer after Flatten (16·16·64 inputs).",
        ),
        train_on="zip",
    ),
    GalleryEntry(
        "photo_cnn",
        "Photo CNN",
        "ConvScope, for your own photos",
        (
            "Four convolution blocks, each normalised by batch normalization, and global "
            "average pooling instead of a big dense layer: 390,370 parameters, a twentieth "
            "of the dogs vs cats CNN's.",
            "Built to learn from a few thousand photos in minutes on a laptop's CPU: trained "
            "on a thousand cats and a thousand dogs it tells apart photos it never saw.",
        ),
        train_on="zip",
    ),
)


GALLERY_KEYS = tuple(entry.key for entry in GALLERY)


# What the Train page's "Start from" offers: the seed presets and the small famous networks.
TRAIN_PRESETS: dict[str, str] = {
    **PRESETS,
    **{entry.key: FAMOUS[entry.key] for entry in GALLERY if entry.train_on and entry.key in FAMOUS},
}


def gallery_entry(key: str) -> GalleryEntry:
    """The `GalleryEntry` of `key` (one of `GALLERY_KEYS`).

    >>> gallery_entry("vgg16").part
    ('Convolutional base', 'block5_pool')
    """
    check_choice(key, "key", GALLERY_KEYS)
    return next(entry for entry in GALLERY if entry.key == key)


def network(
    key: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> ModelSpec:
    """The spec of any gallery network: a seed preset (`preset`) or a famous one (`famous`).

    Args:
        key: one of `GALLERY_KEYS`.
        input_shape, num_classes: None keeps the original; see `preset` and `famous`.

    >>> from core.nets.summary import summarize
    >>> summarize(network("resnet18")).trainable_params
    11689512
    """
    check_choice(key, "key", GALLERY_KEYS)
    build = famous if key in FAMOUS else preset
    return build(key, input_shape=input_shape, num_classes=num_classes)
