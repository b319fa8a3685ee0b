"""Train page, part 2 (transfer learning): a pretrained MobileNetV2 base with a new head.

Everything here is plain Python: whether the ImageNet weights are in the Keras cache is a
file check (``core.nets.transfer.imagenet_weights_cached``) and the layer table comes from
``core.nets.transfer.transfer_summary_rows``, so the page never imports TensorFlow. The worker
builds the model when the job starts.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.nets.transfer import (
    imagenet_weights_advice,
    imagenet_weights_cached,
    imagenet_weights_path,
    transfer_entry,
    transfer_input_problem,
    transfer_summary_rows,
)

TRANSFER_LABEL = "Transfer learning: MobileNetV2 (frozen, new head)"


WEIGHT_CHOICES = {
    "imagenet": "ImageNet weights (pretrained)",
    "random": "Random weights (same architecture, for comparison)",
}


ROW_HEIGHT = 35


def transfer_choice(input_shape: tuple[int, int, int], num_classes: int) -> dict | None:
    """Explain transfer learning, show the weights' status and the layer table.

    Returns:
        The job's model request (``core.nets.transfer.transfer_entry``), or None when this data
        or the missing weights cannot train it (the reason is on the page).
    """
    st.caption(
        "Instead of learning to see from scratch, reuse a network that already can: "
        "MobileNetV2 learned from 1.2 million ImageNet photos to turn an image into 1,280 "
        "features (edges, textures, parts of objects). Its weights stay frozen; only a new "
        f"head — average pooling, dropout and a Dense layer with {num_classes} outputs — is "
        "trained on your images. That takes few images and little time, and works best on "
        "colour photos of 96 to 224 pixels, like ImageNet's."
    )
    problem = transfer_input_problem(input_shape)
    if problem is not None:
        st.error(problem)
        return None

    cached = imagenet_weights_cached(input_shape=input_shape)
    path = imagenet_weights_path(input_shape=input_shape)
    if cached:
        st.success(f"The ImageNet weights are in the Keras cache: `{path}`.")
    else:
        st.warning(
            f"The ImageNet weights are not in the Keras cache (`{path.name}` is missing from "
            f"`{path.parent}`), and this server does not download them. "
            f"{imagenet_weights_advice(input_shape=input_shape)} "
            "Until then you can train the same architecture from random weights."
        )
    weights = st.radio(
        "Start the base from",
        list(WEIGHT_CHOICES),
        index=0 if cached else 1,
        format_func=WEIGHT_CHOICES.get,
        key="train.transfer_weights",
        horizontal=True,
        help="Random weights keep the base frozen too, so only the head learns, on features "
        "that mean nothing: compare it with the pretrained base to see what ImageNet is worth.",
    )
    rows = transfer_summary_rows(input_shape, num_classes)
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        height=ROW_HEIGHT * (len(rows) + 1) + 3,
        column_config={
            "Parameters": st.column_config.NumberColumn(format="localized"),
            "Trainable": st.column_config.NumberColumn(format="localized"),
        },
    )
    total_col, trained_col, input_col = st.columns(3)
    total_col.metric("Parameters", f"{sum(row['Parameters'] for row in rows):,}")
    trained_col.metric("Trained parameters", f"{sum(row['Trainable'] for row in rows):,}")
    input_col.metric("Input", " × ".join(str(d) for d in input_shape))
    st.caption(
        "The base's 150-odd layers are one row here. The first-layer filters shown during "
        "training are the base's first convolution, which stays frozen."
    )
    if weights == "imagenet" and not cached:
        st.info("Put the weights file in place (see above) or choose random weights to start.")
        return None
    return transfer_entry(weights="imagenet" if weights == "imagenet" else None)
