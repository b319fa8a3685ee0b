"""The Kernel Playground's lecture link and downloads: the output as PNG, the kernel as code.

A link can also bring its own input: ``linked_patch`` turns the ``in=`` patch that
Inspect's "explain one unit" sends into the page's image.

The page's link (``ui.kernel_playground.link.LINK``) keeps the address bar equal to
the page's setup; the "Share & download" tab (``share_and_download``) shows that link
and offers the output picture and the kernel (NumPy and Keras code, ``.npy``).
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
import streamlit as st

from ui.kernel_playground import keras_snippet
from ui.kernel_playground.link_state import PATCH_KEY, encode_patch
from ui.widgets.figure_export import page_address
from ui.widgets.image_input import ImageChoice
from ui.widgets.image_view import render


def lecture_link(page_url: str, params: dict[str, str]) -> str:
    """The page's address (any old query dropped) with ``params`` as its query string.

    >>> lecture_link("http://host/kernel_playground?s=2", {"s": "1,2", "pad": "valid"})
    'http://host/kernel_playground?s=1%2C2&pad=valid'
    """
    return page_address(page_url, params)


def _forget_patch() -> None:
    st.session_state[PATCH_KEY] = ()


def patch_choice(patch) -> ImageChoice:
    """The patch as the page's image; its name (for caches) is a digest of its values.

    >>> choice = patch_choice(((1.0, 2.0), (3.0, 4.0)))
    >>> choice.pixels.shape, choice.name.startswith("patch:"), choice.shareable
    ((2, 2), True, True)
    """
    pixels = np.array(patch, dtype=np.float64)
    digest = hashlib.sha1(encode_patch(pixels).encode()).hexdigest()[:12]
    label = f"a unit's input patch from Inspect a Network ({pixels.shape[0]}×{pixels.shape[1]})"
    return ImageChoice(pixels, f"patch:{digest}", label, (), True, pixels.shape)


def linked_patch() -> ImageChoice | None:
    """The input patch a link loaded (with a note and a way back), or None.

    The patch travels in the link (``in=``), so the page's link and the lecture link
    reopen it; "Use the page's own images" drops it.
    """
    patch = st.session_state.get(PATCH_KEY) or ()
    if not patch:
        return None
    choice = patch_choice(patch)
    st.info(
        f"The input is {choice.label}: the values one input channel of a network layer "
        "held under a filter. The output pixel marked in the step-by-step is that unit's "
        "sum for this channel."
    )
    st.button("Use the page's own images", key="kernel.patch_clear", on_click=_forget_patch)
    return choice


def kernel_snippets(values: np.ndarray) -> tuple[str, str]:
    """Python code recreating the kernel: NumPy, and a Keras Conv2D layer using it."""
    rows = ",\n".join(
        "    [" + ", ".join(format(float(v), ".8g") for v in row) + "]" for row in values
    )
    numpy_code = f"import numpy as np\n\nkernel = np.array([\n{rows},\n])\n"
    kh, kw = values.shape
    keras_code = (
        numpy_code + "\nimport keras\n\n"
        f'layer = keras.layers.Conv2D(1, ({kh}, {kw}), padding="same", use_bias=False)\n'
        "layer.build((None, None, None, 1))\n"
        "# Keras kernels are (rows, cols, input channels, filters);\n"
        "# like this page with flipping off, Conv2D does not flip them.\n"
        f"layer.set_weights([kernel.reshape({kh}, {kw}, 1, 1)])\n"
    )
    return numpy_code, keras_code


def npy_bytes(values: np.ndarray) -> bytes:
    """The array as the bytes of a ``.npy`` file (what ``np.load`` reads back)."""
    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()


def share_and_download(
    params: dict[str, str],
    choice: ImageChoice,
    output: np.ndarray,
    mapping: str,
    kernel: np.ndarray,
) -> None:
    """The lecture link, the output picture as PNG and ``kernel`` as code and as ``.npy``."""
    link = lecture_link(getattr(st.context, "url", None) or "", params)
    st.markdown("**Lecture link** — opens this exact setup (image, kernel values, settings):")
    st.code(link or "(default setup: no parameters)", language=None)
    if not choice.shareable:
        st.warning(
            "Uploaded and camera images stay private, so the link opens the default sample "
            "photo instead. Pick a sample photo or a test pattern to share the image too."
        )
    png, _ = render(output, mapping)
    st.download_button(
        "Download the output (PNG)",
        png,
        file_name="convscope_output.png",
        mime="image/png",
        key="kernel.download_png",
        on_click="ignore",
        help="The output picture exactly as shown, with the current display mapping.",
    )
    numpy_code, _ = kernel_snippets(kernel)
    keras_code = keras_snippet.keras_code_for_page(kernel, choice)
    st.markdown("**The kernel as code**")
    left, right = st.columns(2)
    left.code(numpy_code, language="python")
    right.code(keras_code, language="python")
    st.download_button(
        "Download the kernel (.npy)",
        npy_bytes(kernel),
        file_name="kernel.npy",
        mime="application/octet-stream",
        key="kernel.download_npy",
        on_click="ignore",
        help="The kernel values as a NumPy file: np.load('kernel.npy').",
    )
