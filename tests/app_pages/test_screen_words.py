"""What every page shows a person, read under AppTest: no names of code, no raw floats, plurals.

A lecture hall read "The seeds' MNIST CNN A", "from data_dir argument", "core.conv2d_transpose",
"computed in 172 ms in the inference worker", "Sum of the weights: 3.331e-16" and "The last 1
columns" on the projector. Each page is opened in several states (worked examples, each tab,
a kernel whose weights cancel to float noise, a stride that leaves one column out) and all its
text (markdown, captions, alerts, labels, tooltips, options, metrics, HTML tables and Plotly
titles, ticks and cell texts; ``tests.apptest_helpers.screen_text``) is checked.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from tests.apptest_helpers import screen_text

CODE_NAMES = re.compile(
    r"\b(?:core|ui|app_pages|tests)\.[a-z_][a-z0-9_]+"  # module paths: core.conv2d_transpose
    r"|\bdata_dir\b|\bseeds'|\binference worker\b|\bworker process\b|\bin a worker\b"
    r"|\b\d+ ms in\b|Traceback|\bdef \w+\(|\bself\.\w+"
    # file and data-set ids ("mnist_cnn_a · mnist"), but not inside a link or a code line
    r"|(?<![\w.=/\"'])(?:mnist_cnn_[a-c]|fashion_mnist(?:_cnn)?|cifar10(?:_cnn)?|mnist)\b(?![.(/])"
)


SCIENTIFIC = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?e[-+]?\d+\b")  # 3.331e-16, 1e-05


LONG_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d{6,}\b")  # 0.30000000000000004


NOUNS = (
    "row|column|cell|pixel|image|class|output|input|channel|filter|layer|epoch|position|step"
    "|weight|value|number|unit|zero|window|example|model|answer|student|kernel|tap|map"
)


# "1 columns", but not "11 columns", "0.1 rows", "28×28×1 inputs" or a formula's "k − 1 cells"
ONE_PLURAL = re.compile(rf"(?<![\d.,×−+-])(?<![−+-] )\b1 (?:{NOUNS})(?:s|es)\b")


HEDGED_PLURAL = re.compile(r"\b\w+\(s\)")  # "line(s)": the count is known, say it right


# (page script, query parameters): each worked example's page, each tab, and the states
# where a raw float or a plural would show up.
NOISE_KERNEL = "0.1,0.2,-0.3;0,0,0;0,0,0"  # sums to 5.55e-17 in float arithmetic
STATES = [
    ("home.py", {}),
    ("pixels_channels.py", {}),
    ("pixels_channels.py", {"img": "digit:0", "window": "32"}),
    ("pixels_channels.py", {"tab": "channels"}),
    ("pixels_channels.py", {"tab": "histogram"}),
    ("pixels_channels.py", {"tab": "resize"}),
    ("kernel_playground.py", {"img": "synthetic:example1"}),
    ("kernel_playground.py", {"img": "synthetic:example4", "s": "1,2", "pad": "valid"}),
    ("kernel_playground.py", {"img": "synthetic:step_edge", "k": NOISE_KERNEL}),
    ("kernel_playground.py", {"tab": "frequency", "k": NOISE_KERNEL}),
    ("kernel_playground.py", {"tab": "separable"}),
    ("kernel_playground.py", {"tab": "shift"}),
    ("kernel_playground.py", {"tab": "compare"}),
    ("kernel_playground.py", {"tab": "noise"}),
    ("kernel_playground.py", {"tab": "share"}),
    ("convolution_arithmetic.py", {}),
    ("convolution_arithmetic.py", {"pad": "explicit", "p": "1", "flip": "1"}),
    ("convolution_arithmetic.py", {"s": "1,2", "d": "2", "pad": "same"}),
    ("convolution_arithmetic.py", {"mode": "transposed"}),
    ("pooling.py", {}),
    ("pooling.py", {"bp": "1", "method": "average", "pad": "same"}),
    ("pooling.py", {"tab": "photo"}),
    ("pooling.py", {"tab": "shift"}),
    ("pooling.py", {"tab": "global"}),
    ("backpropagation.py", {}),
    ("backpropagation.py", {"tab": "bias"}),
    ("backpropagation.py", {"tab": "input"}),
    ("backpropagation.py", {"tab": "descent"}),
    # a 6×5 input with stride 2: one row is never under the window
    (
        "backpropagation.py",
        {"in": "1,2,3,4,5;0,1,0,1,0;2,2,2,2,2;1,0,1,0,1;3,1,4,1,5;9,2,6,5,3", "s": "2,2"},
    ),
    ("architectures.py", {}),
    ("architectures.py", {"tab": "code"}),
    ("train_cnn.py", {}),
]


def page_text(script: str, query: dict[str, str]) -> str:
    """The page's text; the home page runs inside the app (its links need the navigation)."""
    entry = "navigation.py" if script == "home.py" else f"app_pages/{script}"
    at = AppTest.from_file(str(PROJECT_ROOT / entry), default_timeout=120)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return screen_text(at)


def problems(text: str) -> list[str]:
    """Every piece of the text a person should not read, with its pattern's name."""
    found = []
    for name, pattern in (
        ("code name", CODE_NAMES),
        ("scientific notation", SCIENTIFIC),
        ("unrounded float", LONG_FLOAT),
        ("'1 …s' plural", ONE_PLURAL),
        ("'(s)' plural", HEDGED_PLURAL),
    ):
        found += [f"{name}: {match.group(0)!r}" for match in pattern.finditer(text)]
    return found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sum of the weights: 3.331e-16.", ["scientific notation: '3.331e-16'"]),
        ("MNIST from data_dir argument (x)", ["code name: 'data_dir'"]),
        ("computed by `core.conv2d_transpose`", ["code name: 'core.conv2d_transpose'"]),
        (
            "in 172 ms in the inference worker",
            ["code name: '172 ms in'", "code name: 'inference worker'"],
        ),
        ("The seeds' MNIST CNN A", ['code name: "seeds\'"']),
        ("mnist_cnn_a · mnist · 99.04%", ["code name: 'mnist_cnn_a'", "code name: 'mnist'"]),
        (
            "MNIST CNN A · MNIST; ?ds=fashion_mnist; keras.datasets.mnist.load_data(); mnist/x.npz",
            [],
        ),
        ("The last 1 columns are never covered.", ["'1 …s' plural: '1 columns'"]),
        ("gain 0.30000000000000004", ["unrounded float: '0.30000000000000004'"]),
        ("the last 2 line(s) are shaded", ["'(s)' plural: 'line(s)'"]),
        ("The last 1 column, 11 columns, 0.1 rows, 2 classes, 1 class, 99.04%, 1e3x", []),
        ("k − 1 cells on every side; 28×28×1 inputs; np.load('kernel.npy')", []),
    ],
)
def test_the_scan_catches_what_the_lecture_hall_saw(text, expected):
    assert problems(text) == expected


@pytest.mark.parametrize(("script", "query"), STATES, ids=lambda v: str(v))
def test_no_page_shows_code_names_raw_floats_or_wrong_plurals(script, query):
    text = page_text(script, query)
    assert len(text) > 200  # the page really drew something
    assert problems(text) == []


def test_the_kernel_playground_rounds_float_noise_and_counts_one_column():
    text = page_text(
        "kernel_playground.py",
        {"img": "synthetic:example4", "s": "1,2", "pad": "valid", "k": NOISE_KERNEL},
    )
    assert "Sum of the weights: 0." in text
    assert "The last 1 column is never covered." in text


@pytest.mark.slow
def test_the_inspect_page_names_no_worker_and_no_argument():
    """Inspect runs a real inference worker, hence slow."""
    text = page_text("inspect_network.py", {})
    assert "The course's MNIST CNN A" in text
    assert problems(text) == []
