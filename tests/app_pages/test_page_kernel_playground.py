"""AppTest tests of the Kernel Playground page: presets, edits, bad cells, padding, stride, link."""

from __future__ import annotations

import re
import struct
import zlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.base.paths import PROJECT_ROOT
from core.ops.kernels import PRESETS, kernel
from tests.apptest_helpers import choice_list
from tests.ui.kernel_playground.popovers import POPOVERS
from ui.kernel_playground.link_state import parse_kernel_cell

PAGE = str(PROJECT_ROOT / "app_pages" / "kernel_playground.py")


FOLDED = POPOVERS  # the popovers: their widgets are drawn only while open


def fresh(query: dict[str, str] | None = None, *, unfolded: bool = True) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key in FOLDED:
        at.session_state[key] = unfolded  # as a click on the popover's button
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def worked_example(padding: str = "valid", preset: str = "sobel_bottom", **query) -> AppTest:
    """The page on SEEDS worked example 4 (4×6), through a lecture link."""
    return fresh({"img": "synthetic:example4", "preset": preset, "pad": padding, **query})


def preset_box(at: AppTest):
    """The kernel selectbox on screen (its key changes when the page changes the choice)."""
    return choice_list(at, f"kernel.preset_choice.{at.session_state['kernel.preset_version']}")


def size_box(at: AppTest, axis: str):
    return at.number_input(key=f"kernel.{axis}.{at.session_state['kernel.version']}")


def cell_key(at: AppTest, row: int, col: int) -> str:
    return f"kernel.grid.{at.session_state['kernel.version']}.{row}.{col}"


def grid_values(at: AppTest) -> np.ndarray:
    """The numbers in the grid on screen: its text boxes, or its buttons before a click."""
    prefix = f"kernel.grid.{at.session_state['kernel.version']}."
    cells = {
        tuple(int(i) for i in box.key[len(prefix) :].split(".")): parse_kernel_cell(box.value)
        for box in at.text_input
        if box.key and box.key.startswith(prefix)
    }
    if not cells:
        cells = {
            tuple(int(i) for i in button.key[len("kernel.view.") :].split(".")): parse_kernel_cell(
                button.label.lstrip("\\")
            )
            for button in at.button
            if button.key and button.key.startswith("kernel.view.")
        }
    rows, cols = (max(index) + 1 for index in zip(*cells, strict=True))
    assert len(cells) == rows * cols, "the grid is not rectangular"
    return np.array([[cells[r, c] for c in range(cols)] for r in range(rows)])


def edit_cell(at: AppTest, row: int, col: int, text) -> AppTest:
    """Type ``text`` into a cell; a click on the grid first turns its buttons into boxes."""
    if cell_key(at, row, col) not in {box.key for box in at.text_input}:
        at.button(key=f"kernel.view.{row}.{col}").click().run()
    at.text_input(key=cell_key(at, row, col)).input(str(text)).run()
    assert not at.exception, at.exception
    return at


def explained_total(at: AppTest) -> float:
    text = next(m.value for m in at.markdown if m.value.startswith("Sum of the products"))
    return float(re.search(r"= \*\*(-?[\d.e+]+)\*\*", text).group(1))


def explain(at: AppTest, row: int, col: int) -> float:
    at.number_input(key="kernel.row").set_value(row)
    at.number_input(key="kernel.col").set_value(col)
    at.run()
    assert not at.exception, at.exception
    return explained_total(at)


def size_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("Output size"))


def output_size(at: AppTest) -> tuple[int, int]:
    sizes = re.findall(r"= \*\*(\d+)\*\*", size_text(at))
    return int(sizes[0]), int(sizes[1])


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["kernel.tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


# --------------------------------------------------------------------------- basics


def test_default_page_shows_a_photo_and_its_output():
    at = fresh()
    assert at.title[0].value == "Kernel Playground"
    assert output_size(at) == (512, 512)
    assert preset_box(at).value == "sobel_bottom"
    np.testing.assert_array_equal(grid_values(at), kernel("sobel_bottom"))
    assert len(at.image) >= 2
    assert not at.error


TABS = [
    "Step by step",
    "Frequency response",
    "Separable?",
    "Shift test",
    "Compare kernels",
    "Noise & sharpening",
    "Share & download",
]


def test_every_control_has_a_tooltip():
    at = fresh({"img": "photo:astronaut.png", "color": "summed", "preset": "gen:gabor"})
    for tab in TABS:
        open_tab(at, tab)
        widgets = [
            *at.selectbox,
            *at.radio,
            *at.number_input,
            *at.toggle,
            *at.button,
            *at.slider,
            *at.select_slider,
            *at.get("download_button"),
        ]
        for widget in widgets:
            if widget.key and widget.key.startswith("kernel.view."):
                continue  # a kernel cell: the caption under the grid says what a click does
            assert widget.help, f"{widget.label!r} on {tab!r} has no help text"
    assert any("Click a cell" in caption.value for caption in at.caption)


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_loads_into_the_grid(key):
    at = fresh()
    preset_box(at).set_value(key).run()
    assert not at.exception
    np.testing.assert_allclose(grid_values(at), PRESETS[key].values, rtol=1e-5)
    assert any(PRESETS[key].description in c.value for c in at.caption)


@pytest.mark.parametrize("generator", ["gen:gaussian", "gen:box", "gen:gabor", "gen:log"])
def test_generators_follow_their_parameters(generator):
    at = fresh()
    preset_box(at).set_value(generator).run()
    at.slider(key="kernel.size").set_value(7).run()
    assert not at.exception
    assert grid_values(at).shape == (7, 7)
    assert size_box(at, "rows").value == 7


# --------------------------------------------------------------------------- the worked example


def test_step_by_step_reproduces_worked_example_4():
    at = worked_example("valid")
    assert output_size(at) == (2, 4)
    assert explain(at, 0, 0) == 19
    assert explain(at, 1, 3) == 57
    assert any("holds 19" in c.value for c in at.caption) is False  # the caption follows (1, 3)
    assert any("holds 57" in c.value for c in at.caption)


def test_strides_1_2_give_the_seed_values_and_a_warning():
    at = worked_example("valid", s="1,2")
    assert output_size(at) == (2, 2)
    assert explain(at, 0, 1) == 26 and explain(at, 1, 1) == 48
    warnings = " ".join(w.value for w in at.warning)
    assert "does not fit the columns exactly" in warnings and "2.5" in warnings


def test_relu_zeroes_negatives_and_bias_is_added():
    at = worked_example("explicit", p="1,1")
    assert explain(at, 3, 0) == -56
    at.toggle(key="kernel.relu").set_value(True)
    at.number_input(key="kernel.bias").set_value(3.0).run()
    text = next(m.value for m in at.markdown if m.value.startswith("Sum of the products"))
    assert "+ bias 3 = -53" in text and "ReLU → **0**" in text


@pytest.mark.parametrize(
    ("padding", "query", "size", "first"),
    [
        ("valid", {}, (2, 4), 19),
        ("same", {}, (4, 6), 20),
        ("full", {}, (6, 8), 10),  # only the bottom-right tap (+1) meets the pixel 10
        ("explicit", {"p": "1,1"}, (4, 6), 20),
        ("explicit", {"p": "0,2"}, (2, 8), 12),  # only the right column: −10 + 22
    ],
)
def test_every_padding_mode(padding, query, size, first):
    at = worked_example(padding, **query)
    assert output_size(at) == size
    assert explain(at, 0, 0) == first


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_every_border_mode_matches_numpy_padding(mode):
    from core.imaging.synthetic_images import WORKED_EXAMPLES

    at = worked_example("same", mode=mode)
    padded = np.pad(WORKED_EXAMPLES["example4"], 1, mode=mode)
    expected = float((padded[0:3, 0:3] * kernel("sobel_bottom")).sum())
    assert explain(at, 0, 0) == expected


def test_true_convolution_shows_the_flipped_kernel_and_matches_example_3():
    at = fresh({"img": "synthetic:example3", "k": "-1,1,-1;-2,3,1;2,-4,0", "pad": "same"})
    at.toggle(key="kernel.flip").set_value(True).run()
    assert any("rotated by 180°" in c.value for c in at.caption)
    assert explain(at, 0, 0) == -2 and explain(at, 0, 6) == 28
    assert explain(at, 6, 0) == -29 and explain(at, 6, 6) == 27


def test_dilation_changes_the_size_formula():
    at = fresh({"img": "synthetic:step_edge", "pad": "valid", "d": "2"})
    assert output_size(at) == (28, 28)
    assert "k̂ = 3 + (3 − 1)·(2 − 1) = 5" in size_text(at)


# --------------------------------------------------------------------------- editing


def test_editing_a_cell_makes_the_preset_custom_and_keeps_the_values():
    at = worked_example("valid")
    edit_cell(at, 0, 0, "2")
    assert preset_box(at).value == "custom"
    expected = kernel("sobel_bottom")
    expected[0, 0] = 2
    np.testing.assert_array_equal(at.session_state["kernel.last_good"], expected)
    assert explain(at, 0, 0) == 19 + 3 * 10  # the top-left weight went from −1 to 2


def test_the_page_replaces_widgets_it_changes_instead_of_overwriting_them():
    """A value the page overwrote could come back stale from a slow browser with the next edit
    and read as a user's choice (the preset reloaded over the edits, seen in CI under load).
    So a changed choice or size is a new widget with a new key; the old one is left alone."""
    at = worked_example("valid")
    old_choice, old_rows = preset_box(at).key, size_box(at, "rows").key
    edit_cell(at, 0, 0, "2")
    assert preset_box(at).key != old_choice and preset_box(at).value == "custom"
    assert size_box(at, "rows").key == old_rows  # same kernel size, same input
    edit_cell(at, 0, 1, "3")  # already custom: the selectbox stays as it is
    assert preset_box(at).value == "custom"
    choice = preset_box(at).key
    preset_box(at).set_value("box_blur").run()
    assert preset_box(at).key != choice and preset_box(at).value == "box_blur"
    assert size_box(at, "rows").key != old_rows  # a new kernel: new size inputs
    np.testing.assert_allclose(grid_values(at), kernel("box_blur"), rtol=1e-5)


def test_fractions_are_accepted():
    at = worked_example("valid")
    edit_cell(at, 1, 1, "1/2")
    assert at.session_state["kernel.last_good"][1, 1] == 0.5
    assert explain(at, 0, 0) == 19 + 0.5 * 8


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "not a number"),
        ("", "empty"),
        ("nan", "NaN"),
        ("inf", "infinite"),
        ("-inf", "infinite"),
        ("1e300", "too large"),
        ("1/0", "divides by zero"),
    ],
)
def test_bad_cells_keep_the_last_good_kernel(text, fragment):
    at = worked_example("valid")
    edit_cell(at, 0, 1, "5")  # a good edit first: this becomes the last good kernel
    good = at.session_state["kernel.last_good"].copy()
    edit_cell(at, 2, 2, text)
    errors = " ".join(e.value for e in at.error)
    assert "Row 2, column 2" in errors and fragment in errors
    assert "last good kernel stays in use" in errors
    np.testing.assert_array_equal(at.session_state["kernel.last_good"], good)
    assert explain(at, 0, 0) == 19 + 7 * 12  # the good edit (−2 → 5) still applies
    edit_cell(at, 2, 2, "1")  # fixing the cell clears the message
    assert not at.error


def outlined_cells(at: AppTest) -> set[tuple[int, int]]:
    """Cells the grid's style sheet outlines in red (their key's CSS class is named there)."""
    style = next(h.proto.body for h in at.get("html") if "flex-wrap: nowrap" in h.proto.body)
    bad_rules = style.split("outline: 2px solid")[0].split("}")[-1] if "outline" in style else ""
    found = re.findall(r"st-key-kernel-grid-\d+-(\d+)-(\d+) input", bad_rules)
    return {(int(r), int(c)) for r, c in found}


def test_bad_cells_are_outlined_in_the_grid():
    at = worked_example("valid")
    assert outlined_cells(at) == set()
    edit_cell(at, 2, 1, "oops")
    edit_cell(at, 0, 0, "")
    assert outlined_cells(at) == {(2, 1), (0, 0)}
    edit_cell(at, 2, 1, "3")
    assert outlined_cells(at) == {(0, 0)}


def test_untouched_cells_keep_full_precision():
    at = fresh()
    preset_box(at).set_value("gen:gaussian").run()
    exact = at.session_state["kernel.last_good"].copy()
    assert grid_values(at)[0, 0] != exact[0, 0]  # the cell shows 6 significant digits only
    edit_cell(at, 1, 1, "0.5")
    kept = at.session_state["kernel.last_good"]
    assert kept[1, 1] == 0.5
    mask = np.ones(kept.shape, bool)
    mask[1, 1] = False
    np.testing.assert_array_equal(kept[mask], exact[mask])


def test_wide_kernels_say_the_grid_scrolls():
    at = worked_example("valid")
    assert not any("scroll the grid sideways" in c.value for c in at.caption)
    size_box(at, "cols").set_value(9).run()
    assert grid_values(at).shape == (3, 9)
    assert any("9 columns: scroll the grid sideways" in c.value for c in at.caption)


def test_resizing_keeps_the_centre():
    at = worked_example("valid")
    size_box(at, "rows").set_value(5)
    size_box(at, "cols").set_value(4).run()
    values = grid_values(at)
    assert values.shape == (5, 4)
    np.testing.assert_array_equal(values[1:4, 0:3], kernel("sobel_bottom"))
    assert values[0].tolist() == [0, 0, 0, 0]


def test_kernel_bigger_than_the_image_is_an_error_not_a_crash():
    at = worked_example("valid")
    size_box(at, "rows").set_value(7).run()
    assert not at.exception
    assert any("is larger than the padded" in e.value for e in at.error)
    at.radio(key="kernel.padding").set_value("same").run()  # padding makes it fit again
    assert not at.error


def test_stride_larger_than_the_image_warns():
    at = worked_example("valid", s="16")
    assert output_size(at) == (1, 1)
    assert any("larger than the padded image" in w.value for w in at.warning)


@pytest.mark.parametrize(
    ("button", "expected"),
    [("transpose", kernel("sobel_bottom").T), ("rotate", kernel("sobel_bottom")[::-1, ::-1])],
)
def test_transform_buttons(button, expected):
    at = fresh()
    at.button(key=f"kernel.button.{button}").click().run()
    np.testing.assert_array_equal(grid_values(at), expected)
    assert preset_box(at).value == "custom"


def test_normalise_and_its_warning_for_zero_sum():
    at = fresh()
    at.button(key="kernel.button.normalise").click().run()
    assert any("sums to 0" in w.value for w in at.warning)
    preset_box(at).set_value("gaussian_blur").run()
    edit_cell(at, 1, 1, "8/16")
    at.button(key="kernel.button.normalise").click().run()
    assert grid_values(at).sum() == pytest.approx(1.0, abs=1e-5)


def test_randomise_fills_the_grid():
    at = fresh()
    at.button(key="kernel.button.randomise").click().run()
    assert not np.array_equal(grid_values(at), kernel("sobel_bottom"))
    assert preset_box(at).value == "custom"


# --------------------------------------------------------------------------- colour


def test_colour_modes():
    at = fresh({"img": "photo:astronaut.png", "color": "summed"})
    assert at.radio(key="kernel.color").value == "summed"
    assert any("sum over all three channels" in m.value for m in at.markdown)
    at.radio(key="kernel.color").set_value("per_channel").run()
    assert not at.exception
    assert at.selectbox(key="kernel.explain_channel").value == 0
    at.selectbox(key="kernel.explain_channel").set_value(2).run()
    assert not at.exception


# --------------------------------------------------------------------------- tabs


def test_frequency_tab_names_the_filter_kind():
    at = open_tab(fresh(), "Frequency response")
    assert any(m.value.startswith("**Band-pass") for m in at.markdown)
    preset_box(at).set_value("box_blur").run()
    assert any(m.value.startswith("**Low-pass") for m in at.markdown)


def test_separability_tab():
    at = open_tab(fresh(), "Separable?")
    assert any("Separable" in s.value and "6 multiply-adds" in s.value for s in at.success)
    preset_box(at).set_value("laplacian").run()
    assert any("Not separable: rank 2" in i.value for i in at.info)


def test_shift_tab_equivariance_depends_on_stride():
    at = open_tab(fresh({"img": "synthetic:checkerboard"}), "Shift test")
    assert any("Identical" in s.value for s in at.success)
    at.number_input(key="kernel.stride_cols").set_value(2).run()
    assert any("Not identical" in w.value for w in at.warning)


def test_compare_tab_with_sobel_magnitude():
    at = open_tab(fresh({"img": "synthetic:disk"}), "Compare kernels")
    at.toggle(key="kernel.sobel_magnitude").set_value(True).run()
    assert not at.exception
    captions = [caption for image in at.image for caption in image.captions]
    assert any(caption.startswith("√(Gx² + Gy²)") for caption in captions)


def test_noise_tab_runs_both_noises():
    at = open_tab(fresh({"img": "synthetic:stripes", "size": "64"}), "Noise & sharpening")
    assert any("not a convolution" in c.value for c in at.caption)
    at.radio(key="kernel.noise_kind").set_value("salt_pepper").run()
    assert not at.exception


def test_share_tab_gives_link_and_downloads():
    at = worked_example("valid", s="1,2")
    open_tab(at, "Share & download")
    link = at.code[0].value
    assert "s=1%2C2" in link and "img=synthetic%3Aexample4" in link
    assert any("np.array" in c.value for c in at.code)
    shared = [b for b in at.get("download_button") if b.label != "PNG"]  # not the pictures'
    assert len(shared) == 2


# --------------------------------------------------------------------------- lecture link


def test_link_restores_the_setup():
    at = fresh({"img": "synthetic:example2", "k": "0,1,2;2,2,0;0,1,2", "pad": "valid"})
    assert preset_box(at).value == "custom"
    assert output_size(at) == (3, 3)
    assert explain(at, 0, 0) == 12 and explain(at, 1, 2) == 19


def test_page_writes_its_setup_into_the_url():
    at = worked_example("valid")
    at.number_input(key="kernel.stride_rows").set_value(2).run()
    assert at.query_params["s"] in ("2,1", ["2,1"])


def test_garbled_link_warns_and_uses_defaults():
    at = fresh({"s": "zero", "k": "1,2;3", "pad": "sideways", "img": "photo:../../etc/passwd"})
    (warning,) = [w.value for w in at.warning if "link" in w.value]
    for given in ('"s=zero"', '"k=1,2;3"', '"pad=sideways"', '"img=photo:../../etc/passwd"'):
        assert given in warning
    assert at.query_params == {}  # the address no longer carries the bad parameters
    assert output_size(at) == (512, 512)
    np.testing.assert_array_equal(grid_values(at), kernel("sobel_bottom"))


# --------------------------------------------------------------------------- uploads


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at.radio(key="kernel.source").set_value("upload").run()
    at.file_uploader(key="kernel.upload").set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("name", "data", "fragment"),
    [
        ("notes.png", b"this is not an image", "not an image format"),
        ("empty.png", b"", "empty"),
        ("huge.png", _png_header_only(20_000, 20_000), "megapixels"),
    ],
)
def test_bad_uploads_show_an_error_and_the_page_keeps_working(name, data, fragment):
    at = _upload(fresh(), name, data, "image/png")
    assert any(fragment in e.value for e in at.error)
    assert any("sample photo" in i.value for i in at.info)
    assert output_size(at) == (512, 512)


def _encoded(image, fmt: str, **options) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_unusual_uploads_are_converted_with_a_note():
    from PIL import Image

    frames = [Image.new("RGB", (40, 30), color) for color in ("red", "blue")]
    gif = _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    cmyk = _encoded(Image.new("CMYK", (40, 30), (0, 255, 0, 0)), "JPEG")
    sixteen = _encoded(Image.fromarray(np.full((30, 40), 40000, np.uint16)), "PNG")
    for name, data, note in (
        ("anim.gif", gif, "Animated"),
        ("print.jpg", cmyk, "CMYK"),
        ("deep.png", sixteen, "16-bit"),
    ):
        at = _upload(fresh(), name, data, "image/png")
        assert not at.error
        assert any(note in c.value for c in at.caption), name
        assert output_size(at) == (30, 40)


def test_a_good_upload_is_used():
    from PIL import Image

    png = _encoded(Image.new("L", (20, 10), 100), "PNG")
    at = _upload(fresh(), "small.png", png, "image/png")
    assert output_size(at) == (10, 20)


# --------------------------------------------------------------------------- display helpers


@pytest.mark.parametrize("mapping", ["clip", "abs", "minmax", "diverging"])
@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 3)])
def test_sent_png_shows_what_to_display_mapped(mapping, shape):
    import io

    from PIL import Image

    from core.imaging.images import to_display
    from ui.widgets.image_view import encode_picture

    values = np.random.default_rng(0).normal(0, 200, size=shape)
    picture = to_display(values, mapping=mapping)
    decoded = np.asarray(Image.open(io.BytesIO(encode_picture(picture))).convert("RGB"))
    # Small pictures are enlarged with square pixels for display: compare every 8th pixel.
    factor = decoded.shape[0] // shape[0]
    np.testing.assert_array_equal(decoded[::factor, ::factor], picture.rgb)


def test_auto_mapping_rules():
    from ui.widgets.image_view import choose_mapping

    assert choose_mapping(np.array([[-1.0, 5.0]]), "auto") == "diverging"
    assert choose_mapping(np.array([[0.0, 300.0]]), "auto") == "minmax"
    assert choose_mapping(np.array([[0.0, 1.0]]), "auto") == "minmax"  # an impulse stays visible
    assert choose_mapping(np.array([[0.0, 200.0]]), "auto") == "clip"
    assert choose_mapping(np.array([[-1.0, 5.0]]), "abs") == "abs"


def test_kernel_snippet_runs_and_recreates_the_kernel():
    from ui.kernel_playground.share import kernel_snippets

    values = np.array([[1 / 9, -2.0], [0.0, 3.5]])
    numpy_code, keras_code = kernel_snippets(values)
    namespace: dict = {}
    exec(numpy_code, namespace)  # noqa: S102 - our own generated code
    np.testing.assert_allclose(namespace["kernel"], values, rtol=1e-8)
    assert "Conv2D(1, (2, 2)" in keras_code and "reshape(2, 2, 1, 1)" in keras_code


def test_noise_tab_on_an_upload_is_computed_per_upload():
    from PIL import Image

    first = _encoded(Image.new("L", (24, 24), 60), "PNG")
    second = _encoded(Image.new("L", (24, 24), 200), "PNG")
    at = _upload(fresh(), "same_name.png", first, "image/png")
    open_tab(at, "Noise & sharpening")
    first_ranges = [c.value for c in at.caption if c.value.startswith("Values from")][:4]
    at.file_uploader(key="kernel.upload").set_value(("same_name.png", second, "image/png")).run()
    assert not at.exception
    second_ranges = [c.value for c in at.caption if c.value.startswith("Values from")][:4]
    assert first_ranges and first_ranges != second_ranges


@pytest.mark.parametrize(
    ("example", "size", "pixel", "value"),
    [
        ("example1", (3, 3), (0, 0), 4),
        ("example1", (3, 3), (2, 2), 4),
        ("example2", (3, 3), (1, 2), 19),
        ("example3", (7, 7), (6, 6), 27),
        ("example4", (2, 4), (0, 0), 19),
        ("example4_stride", (2, 2), (1, 1), 48),
        ("example4_padding", (4, 6), (3, 5), -40),
        ("example5", (4, 4), (0, 0), 99),
    ],
)
def test_lecture_example_buttons(example, size, pixel, value):
    at = fresh()
    at.button(key=f"kernel.example.{example}").click().run()
    assert not at.exception
    assert output_size(at) == size
    assert explain(at, *pixel) == value


def test_example_5_warns_that_stride_2_does_not_fit():
    at = fresh()
    at.button(key="kernel.example.example5").click().run()
    warnings = " ".join(w.value for w in at.warning)
    assert "4.5, rounded down to 4" in warnings


def popover_labels(at: AppTest) -> list[str]:
    return [block.proto.popover.label for block in at.get("popover")]


def test_the_folded_settings_name_their_values_and_follow_every_change():
    at = fresh({"pad": "valid", "s": "2", "bias": "3", "d": "2"}, unfolded=False)
    assert "stride 2 · valid padding · dilation 2 · bias 3" in popover_labels(at)
    assert "Size 3×3 · sum → 1, transpose, rotate, random" in popover_labels(at)
    keys = {widget.key for widget in at.number_input} | {widget.key for widget in at.radio}
    assert "kernel.bias" not in keys and "kernel.padding" not in keys  # shut: not drawn
    shut_sizes = [m.value for m in at.markdown if m.value.startswith("Output size")]
    assert shut_sizes and "⌊(" in shut_sizes[0]  # computed from the held values
    for key in FOLDED:
        at.session_state[key] = True  # open both
    at.run()
    assert [m.value for m in at.markdown if m.value.startswith("Output size")] == shut_sizes
    assert at.number_input(key="kernel.bias").value == 3.0  # drawn with the page's values
    assert at.radio(key="kernel.padding").value == "valid"
    assert at.number_input(key="kernel.dilation_rows").value == 2
    assert at.number_input(key="kernel.stride_cols").value == 2  # the strides sit here too
    at.radio(key="kernel.padding").set_value("same").run()
    for key in FOLDED:
        at.session_state[key] = True  # a test's run does not send the popover's state
    at.run()
    at.toggle(key="kernel.relu").set_value(True).run()
    for key in FOLDED:
        at.session_state[key] = True
    at.run()
    size_box(at, "cols").set_value(5).run()
    assert not at.exception, at.exception
    for key in FOLDED:
        at.session_state[key] = False  # shut both again: the values stay
    at.run()
    assert not at.exception, at.exception
    assert "stride 2 · same padding · zero fill · dilation 2 · bias 3 · ReLU" in popover_labels(at)
    assert "Size 3×5 · sum → 1, transpose, rotate, random" in popover_labels(at)
    assert at.session_state["kernel.last_good"].shape == (3, 5)
    assert at.session_state["kernel.bias"] == 3.0 and at.session_state["kernel.relu"] is True
