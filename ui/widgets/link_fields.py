"""Linked fields several pages share: a small editable matrix, the loaded worked example,
a stepper's position, a tab, an image choice (see ``ui.widgets.page_link``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

from ui.widgets.image_input import DEFAULT_PHOTO, photo_names, set_image
from ui.widgets.link_params import LinkField, matrix
from ui.widgets.matrix_editor import current_matrix, set_matrix

NONE = "none"  # the text of "no worked example loaded"


MAX_STEP = 10_000  # a stepper position; the stepper pulls it inside its range


def matrix_link(
    name: str,
    key: str,
    default,
    *,
    size_keys: tuple[str, str] | None = None,
    max_shape: tuple[int, int] = (12, 12),
    limit: float = 1e6,
) -> LinkField:
    """An editable matrix (``ui.widgets.matrix_editor``) and, when given, its size inputs."""
    default = np.asarray(default, dtype=np.float64)

    def put(values) -> None:
        set_matrix(key, values)
        if size_keys is not None:
            st.session_state.update(dict(zip(size_keys, np.shape(values), strict=True)))

    def get(state: Mapping) -> np.ndarray:
        return current_matrix(key, default, state)

    return matrix(name, default, get=get, put=put, max_shape=max_shape, limit=limit)


def example_link(name: str, key: str, default: str | None, choices: Sequence[str]) -> LinkField:
    """Which worked example is loaded (``None``: none, written "none")."""

    def get(state: Mapping) -> str:
        value = state.get(key, default)
        return NONE if value is None else value

    def put(value: str) -> None:
        st.session_state[key] = None if value == NONE else value

    fallback = NONE if default is None else default
    return LinkField(name, fallback, "choice", (key,), (*choices, NONE), get=get, put=put)


def step_link(name: str, stepper: str) -> LinkField:
    """The position of a ``ui.widgets.stepper`` (0 is the first)."""
    return LinkField(name, 0, "int", (f"{stepper}.step",), low=0, high=MAX_STEP)


def tab_link(name: str, key: str, labels: Sequence[str], slugs: Sequence[str]) -> LinkField:
    """The open tab of ``st.tabs(labels, key=key, on_change="rerun")``, written as a slug."""
    by_slug = dict(zip(slugs, labels, strict=True))

    def parse(text: str) -> str:
        slug = text.strip().lower()
        if slug not in by_slug:
            raise ValueError(f"must be one of {', '.join(slugs)}")
        return by_slug[slug]

    def format_(label: str) -> str:
        return slugs[list(labels).index(label)] if label in labels else slugs[0]

    return LinkField(name, labels[0], "choice", (key,), parse=parse, format=format_)


def image_link(prefix: str, *, sources: Sequence[str], digits: int = 0) -> LinkField:
    """The image of ``ui.widgets.image_input.image_picker(prefix)``: "photo:<file>",
    "synthetic:<key>" or "digit:<index>".

    Uploads and camera shots stay private: the link then names the default photo.
    ``digits`` is the number of MNIST digits the picker offers.
    """
    from core.imaging.synthetic_images import SYNTHETIC_IMAGES

    default = f"photo:{DEFAULT_PHOTO}"

    def parse(text: str) -> str:
        kind, _, item = text.strip().partition(":")
        if kind not in sources:
            raise ValueError(f"must start with one of {', '.join(f'{s}:' for s in sources)}")
        if kind == "photo" and item in photo_names():
            return text.strip()
        if kind == "synthetic" and item in SYNTHETIC_IMAGES:
            return text.strip()
        if kind == "digit" and item.isascii() and item.isdigit() and int(item) < digits:
            return f"digit:{int(item)}"
        raise ValueError("is not a sample photo, test pattern or digit of this page")

    def get(state: Mapping) -> str:
        source = state.get(f"{prefix}.source", sources[0])
        if source == "photo":
            return f"photo:{state.get(f'{prefix}.photo', DEFAULT_PHOTO)}"
        if source == "synthetic":
            return f"synthetic:{state.get(f'{prefix}.synthetic', 'step_edge')}"
        if source == "digit":
            return f"digit:{int(state.get(f'{prefix}.digit', 0))}"
        return default

    def put(value: str) -> None:
        kind, _, item = value.partition(":")
        if kind == "digit":
            st.session_state[f"{prefix}.source"] = "digit"
            st.session_state[f"{prefix}.digit"] = int(item)
        else:
            set_image(prefix, value)

    return LinkField("img", default, "text", parse=parse, get=get, put=put)
