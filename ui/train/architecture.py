"""Train page, part 2: the architecture — a preset adapted to the data, a stack you edit,
or transfer learning (``ui.train.transfer``).

The summary (output shapes, parameters, multiply-adds, receptive fields) is computed in
plain Python by ``core.nets.summary``, so it follows every edit at once.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.nets.gallery import TRAIN_PRESETS, gallery_entry, network
from core.nets.keras_code import to_keras_code
from core.nets.specs import ACTIVATIONS, PADDINGS, LayerSpec, ModelSpec, spec_to_dict
from core.nets.summary import InvalidModelError, summarize
from ui.architectures.table import LAYER_HELP, table_html
from ui.train.transfer import TRANSFER_LABEL, transfer_choice
from ui.widgets.short_choice import choose_one

# Which editor columns each layer type uses (the others are ignored for that row).
COLUMNS_BY_TYPE = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "BatchNormalization": (),
    "Dropout": ("rate",),
    "Flatten": (),
    "GlobalAveragePooling2D": (),
    "Dense": ("units", "activation"),
    "Activation": ("activation",),  # after a BatchNormalization (the photo preset)
}


EDITOR_TYPES = tuple(COLUMNS_BY_TYPE)  # what a row of the layer table may be


EDITOR_COLUMNS = ("type", "filters", "units", "kernel_size", "strides", "pool_size")


EDITOR_COLUMNS += ("padding", "activation", "rate")


INTEGER_COLUMNS = ("filters", "units", "kernel_size", "strides", "pool_size")


# A sensible first network per data set: quick to train, and a seed-text architecture.
DEFAULT_PRESETS = {"mnist": "mnist_cnn_a", "fashion_mnist": "mnist_cnn_a", "cifar10": "cifar10_cnn"}


FOLDER_PRESET = "photo_cnn"  # 82% on unseen cats and dogs in 5 minutes (README)


OWN_STACK_LABEL = "A preset or your own stack"


ROW_HEIGHT = 35  # pixels per table row, to size tables so no row hides behind a scroll bar


SUMMARY_PX = 740  # the summary table's frame: about 20 layers, then it scrolls


EDIT_OPEN = "train.edit_layers"  # whether the layer editor is unfolded


def layers_to_frame(spec: ModelSpec) -> pd.DataFrame:
    """One editor row per layer; square windows shown as one number."""
    rows = []
    for layer in spec.layers:
        row = {column: None for column in EDITOR_COLUMNS}
        row["type"] = layer.type
        for column in COLUMNS_BY_TYPE[layer.type]:
            value = getattr(layer, column)
            row[column] = value[0] if isinstance(value, tuple) else value
        rows.append(row)
    return pd.DataFrame(rows, columns=list(EDITOR_COLUMNS))


def frame_to_layers(frame: pd.DataFrame) -> tuple[LayerSpec, ...]:
    """Turn edited rows back into layer specs.

    Raises:
        ValueError: naming the row (1-based) and what is wrong with it.
    """
    layers = []
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        kind = row.get("type")
        if not isinstance(kind, str) or kind not in COLUMNS_BY_TYPE:
            raise ValueError(
                f"Row {number}: choose a layer type (one of {', '.join(EDITOR_TYPES)})."
            )
        arguments = {}
        for column in COLUMNS_BY_TYPE[kind]:
            value = row.get(column)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if column in INTEGER_COLUMNS:
                if float(value) != int(value):
                    raise ValueError(f"Row {number} ({kind}): `{column}` must be a whole number.")
                value = int(value)
            elif column == "rate":
                value = float(value)
            arguments[column] = value
        try:
            layers.append(LayerSpec(type=kind, **arguments))
        except (ValueError, TypeError) as error:
            raise ValueError(f"Row {number} ({kind}): {error}") from None
    if not layers:
        raise ValueError("The stack is empty: add at least a Flatten and an output Dense layer.")
    return tuple(layers)


def request_preset(name: str, dataset: str) -> None:
    """Make the Train page open on `dataset` with the preset `name` chosen (the gallery's
    "Train this on …"); call it, then `st.switch_page` to the Train page."""
    st.session_state["train.dataset"] = dataset
    st.session_state["train.architecture_kind"] = OWN_STACK_LABEL
    st.session_state[f"train.preset.{dataset}"] = name


def architecture_editor(
    input_shape: tuple[int, int, int], num_classes: int, *, data_kind: str
) -> ModelSpec | dict | None:
    """The architecture section: a preset/stack or transfer learning.

    Returns:
        A valid `ModelSpec`; or, for transfer learning, the job's model request
        (``{"transfer": "MobileNetV2", "weights": ...}``); or None after an error.
    """
    kind = st.radio(
        "Architecture",
        [OWN_STACK_LABEL, TRANSFER_LABEL],
        key="train.architecture_kind",
        horizontal=True,
        help="Build a CNN that learns from scratch, or reuse a network pretrained on ImageNet "
        "and train only a new head on top of it.",
    )
    if kind == TRANSFER_LABEL:
        return transfer_choice(input_shape, num_classes)
    return stack_editor(input_shape, num_classes, data_kind=data_kind)


def preset_label(key: str) -> str:
    """A preset's name as people say it.

    >>> preset_label("mnist_cnn_a")
    'MNIST CNN A'
    """
    return gallery_entry(key).title


def stack_editor(
    input_shape: tuple[int, int, int], num_classes: int, *, data_kind: str
) -> ModelSpec | None:
    """Preset picker, layer editor and summary; returns a valid spec, or None after an error."""
    # The gallery's "Train this" puts its choice in the session state, under the same key.
    name = choose_one(
        "Start from",
        list(TRAIN_PRESETS),
        key=f"train.preset.{data_kind}",
        default=DEFAULT_PRESETS.get(data_kind, FOLDER_PRESET),
        format_func=preset_label,
        help="A preset from the course texts, adapted to this data set's image shape and "
        "number of classes. Edit its layers below to make your own.",
    )
    shape = "×".join(str(d) for d in input_shape)
    st.caption(f"{TRAIN_PRESETS[name]} Here adapted to {shape} inputs and {num_classes} classes.")
    try:
        base = network(name, input_shape=input_shape, num_classes=num_classes)
    except ValueError as error:
        st.error(f"The preset cannot be adapted to this data: {error}")
        return None
    if base.has_branches:
        st.info(
            "This network has branches (shortcuts around its blocks), which the layer table cannot "
            "show: it trains as it is. The Architectures page draws it."
        )
        edited = None
    else:
        edited = _layer_editor(base, name, num_classes)
    try:
        # An untouched table is the preset itself, with what the table has no column for
        # (a convolution without bias before its BatchNormalization).
        unedited = edited is None or edited.equals(layers_to_frame(base))
        layers = base.layers if unedited else frame_to_layers(edited)
        spec = ModelSpec(name=name, input_shape=input_shape, layers=layers)
        summary = summarize(spec)
    except InvalidModelError as error:
        st.error(f"This stack cannot be built: {error}")
        return None
    except ValueError as error:
        st.error(f"Please fix the layer table: {error}")
        return None
    if spec.num_classes != num_classes:
        st.error(
            f"The last layer has {spec.num_classes} units but the data set has {num_classes} "
            f"classes: set its units to {num_classes}."
        )
        return None
    with st.container(key="train-layer_summary"):  # a plain table: no data grid to load
        st.html(
            table_html(
                pd.DataFrame(summary.to_rows()), column_help=LAYER_HELP, max_height=SUMMARY_PX
            )
        )
    total_col, macs_col, out_col = st.columns(3)
    total_col.metric("Parameters", f"{summary.total_params:,}")
    macs_col.metric("Multiply-adds per image", f"{summary.total_macs:,}")
    out_col.metric("Input", " × ".join(str(d) for d in input_shape))
    code = st.expander("Show as Keras code", key="train.keras_code", on_change="rerun")
    if code.open is not False:  # closed: no code highlighter for the browser to load
        code.code(to_keras_code(spec), language="python")
    st.session_state["train.spec"] = spec_to_dict(spec)
    return spec


def _layer_editor(base: ModelSpec, name: str, num_classes: int) -> pd.DataFrame:
    """The editable table of `base`'s layers (a plain stack), folded until opened (a data grid
    costs the browser more than the rest of the page); returns the edited rows."""
    # A new preset or a new input shape starts a fresh editor; edits otherwise persist,
    # folded or not.
    from_key, last_key = f"train.layers_from.{name}.{num_classes}", f"train.layers_last.{name}"
    last_key += f".{num_classes}"
    box = st.expander(
        "Edit the layers: change, add or delete rows", key=EDIT_OPEN, on_change="rerun"
    )
    state = st.session_state
    if box.open is False and last_key in state:
        # Just folded: Streamlit forgets an editor's edits after a run that does not draw
        # it, so its rows become the table it starts from when it opens again.
        state[from_key] = state.pop(last_key)
        state["train.editor_version"] = state.get("train.editor_version", 0) + 1
    frame = state.get(from_key)
    if frame is None:
        frame = layers_to_frame(base)
    if box.open is False:
        return frame
    editor_key = f"train.layers.{name}.{num_classes}"
    if box.button(
        "Reset the layers to the preset", key="train.reset_layers", help="Throw away your edits."
    ):
        for key in (editor_key, from_key, last_key):
            st.session_state.pop(key, None)
        st.session_state["train.editor_version"] = (
            st.session_state.get("train.editor_version", 0) + 1
        )
        frame = layers_to_frame(base)
    editor_key += f".{st.session_state.get('train.editor_version', 0)}"
    edited = box.data_editor(
        frame,
        height=ROW_HEIGHT * (len(frame) + 2) + 3,
        key=editor_key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn(
                "Layer", options=list(EDITOR_TYPES), required=True, help="Keras layer class."
            ),
            "filters": st.column_config.NumberColumn(
                "filters", min_value=1, step=1, help="Conv2D: number of filters (output maps)."
            ),
            "units": st.column_config.NumberColumn(
                "units", min_value=1, step=1, help="Dense: number of outputs."
            ),
            "kernel_size": st.column_config.NumberColumn(
                "kernel_size", min_value=1, step=1, help="Conv2D: side of the square kernel."
            ),
            "strides": st.column_config.NumberColumn(
                "strides", min_value=1, step=1, help="Step of the sliding window."
            ),
            "pool_size": st.column_config.NumberColumn(
                "pool_size", min_value=1, step=1, help="Pooling: side of the square window."
            ),
            "padding": st.column_config.SelectboxColumn(
                "padding", options=list(PADDINGS), help="valid: no padding; same: keep size."
            ),
            "activation": st.column_config.SelectboxColumn(
                "activation", options=list(ACTIVATIONS), help="Conv2D / Dense activation."
            ),
            "rate": st.column_config.NumberColumn(
                "rate", min_value=0.0, max_value=0.95, step=0.05, help="Dropout: share dropped."
            ),
        },
    )
    box.caption(
        "Edit cells, add rows at the bottom, delete rows by selecting them. Columns that do "
        "not apply to a layer's type are ignored. The last layer must be Dense "
        f"{num_classes} softmax (one output per class)."
    )
    st.session_state[last_key] = edited
    return edited
