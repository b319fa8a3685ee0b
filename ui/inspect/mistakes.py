"""Where the model goes wrong on its test images: a confusion matrix whose cells open their
images, the test images with the highest loss, and both as CSV downloads.

The answers come from the worker (`WorkerClient.evaluate_dataset`, the same evaluation as
Train's results), computed once per model and data set when the user asks for them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.base.numbers import plural
from core.data.catalog import DISPLAY_NAMES
from core.jobs.inspection import Evaluation, ModelInfo
from core.jobs.worker_client import WorkerClient
from ui.inspect import views
from ui.inspect.inputs import TestSet
from ui.inspect.layer_sections import forget_stale_choice, reported_errors
from ui.inspect.unit import add_click_targets, clicked_cell
from ui.widgets.figure_export import export_button
from ui.widgets.tab_charts import plotly_chart

MAX_CELL_IMAGES = 24


TOP_LOSSES = 16


THUMBNAIL = 84


MAX_LABELLED_CLASSES = 20  # more classes: counts on hover only


def worst_cell(confusion: np.ndarray) -> tuple[int, int]:
    """The off-diagonal cell with the most images (the model's commonest mistake);
    `(0, 0)` when it makes none.

    >>> worst_cell(np.array([[5, 1], [3, 4]]))
    (1, 0)
    """
    wrong = np.array(confusion, dtype=np.int64)
    np.fill_diagonal(wrong, -1)
    if wrong.size == 0 or wrong.max() <= 0:
        return (0, 0)
    row, col = np.unravel_index(int(wrong.argmax()), wrong.shape)
    return int(row), int(col)


def confusion_figure(confusion: np.ndarray, names: list[str], chosen: tuple[int, int]):
    """Counts per (true, predicted) class, the chosen cell outlined, every cell clickable."""
    count = len(names)
    labelled = count <= MAX_LABELLED_CLASSES
    figure = go.Figure(
        go.Heatmap(
            z=np.log1p(confusion),
            text=confusion,
            texttemplate="%{text}" if labelled else None,
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
            x=list(range(count)),
            y=list(range(count)),
        )
    )
    add_click_targets(figure, (count, count), hover="true %{y}, predicted %{x}: click to open")
    figure.add_shape(
        type="rect",
        x0=chosen[1] - 0.5,
        x1=chosen[1] + 0.5,
        y0=chosen[0] - 0.5,
        y1=chosen[0] + 0.5,
        line=dict(color="#ff7f0e", width=3),
    )
    ticks = dict(tickvals=list(range(count)), ticktext=names) if labelled else {}
    figure.update_xaxes(title="predicted class", constrain="domain", **ticks)
    figure.update_yaxes(title="true class", autorange="reversed", scaleanchor="x", **ticks)
    figure.update_layout(height=420, margin=dict(l=0, r=0, t=10, b=0))
    return figure


def _set_words(test: TestSet) -> str:
    """How the page names the images evaluated: a built-in set by its display name.

    >>> _set_words(TestSet("mnist", (), None, None, None, "", None))
    'MNIST test images'
    >>> _set_words(TestSet("own", (), None, None, None, "", None))
    "of the model's own test images"
    """
    if test.name in DISPLAY_NAMES:
        return f"{DISPLAY_NAMES[test.name]} test images"
    return "of the model's own test images"


def _thumbnails(test: TestSet, indices, captions, title: str) -> None:
    images = [views.enlarge(views.input_rgb(test.images[int(i)]), THUMBNAIL) for i in indices]
    st.image(images, caption=captions, width=THUMBNAIL)
    if images:
        export_button(views.mosaic(images, columns=8), title)


def _cell_images(evaluation: Evaluation, test: TestSet, names: list[str]) -> None:
    """The confusion matrix, and the images of the cell picked (by click or by the boxes)."""
    count = len(names)
    for key in ("inspect.mistake_true", "inspect.mistake_predicted"):
        forget_stale_choice(key, range(count))
    if "inspect.mistake_true" not in st.session_state:
        worst = worst_cell(evaluation.confusion)
        st.session_state["inspect.mistake_true"] = worst[0]
        st.session_state["inspect.mistake_predicted"] = worst[1]
    clicked = clicked_cell("inspect.confusion")
    if clicked is not None and max(clicked) < count and min(clicked) >= 0:
        st.session_state["inspect.mistake_true"] = clicked[0]
        st.session_state["inspect.mistake_predicted"] = clicked[1]
    chosen = (
        st.session_state["inspect.mistake_true"],
        st.session_state["inspect.mistake_predicted"],
    )
    left, right = st.columns([3, 2])
    plotly_chart(
        confusion_figure(evaluation.confusion, names, chosen),
        container=left,
        config=views.PLOTLY_CONFIG,
        key="inspect.confusion",
        on_select="rerun",
        selection_mode="points",
    )
    left.caption("Rows: the true class; columns: what the model answered. Click a cell.")
    with right:
        true_class = st.selectbox(
            "True class", range(count), key="inspect.mistake_true", format_func=names.__getitem__
        )
        predicted = st.selectbox(
            "Predicted as",
            range(count),
            key="inspect.mistake_predicted",
            format_func=names.__getitem__,
        )
        indices = evaluation.cell(true_class, predicted)
        what = "right" if true_class == predicted else "wrong"
        st.markdown(
            f"**{plural(len(indices), 'image')}** of *{names[true_class]}* answered "
            f"*{names[predicted]}* ({what}), most confident first"
            + (f"; the first {MAX_CELL_IMAGES} shown." if len(indices) > MAX_CELL_IMAGES else ".")
        )
        shown = indices[:MAX_CELL_IMAGES]
        confidence = evaluation.confidence
        _thumbnails(
            test,
            shown,
            [f"#{int(i)} {confidence[i]:.0%}" for i in shown],
            f"{names[true_class]} answered {names[predicted]}",
        )


def _top_losses(evaluation: Evaluation, test: TestSet, names: list[str]) -> None:
    st.markdown(
        "**Top losses**: the test images the model is most wrong about (the highest "
        "cross-entropy, −log of the probability it gave the true class)."
    )
    top = evaluation.top_losses(TOP_LOSSES)
    losses, predicted = evaluation.losses, evaluation.predicted
    captions = [
        f"#{int(i)} true {names[evaluation.labels[i]]}, said {names[predicted[i]]} "
        f"{evaluation.confidence[i]:.0%} (loss {losses[i]:.2f})"
        for i in top
    ]
    _thumbnails(test, top, captions, "Top losses")


def _downloads(evaluation: Evaluation, names: list[str], model_name: str, test: TestSet):
    left, right = st.columns(2)
    left.download_button(
        "Predictions (CSV)",
        evaluation.predictions_csv(names),
        file_name=f"{model_name}_{test.name}_predictions.csv",
        mime="text/csv",
        key="inspect.predictions_csv",
        help="One row per test image: its index, true and predicted class, the confidence, "
        "and the probability of every class.",
    )
    right.download_button(
        "Confusion matrix (CSV)",
        evaluation.confusion_csv(names),
        file_name=f"{model_name}_{test.name}_confusion.csv",
        mime="text/csv",
        key="inspect.confusion_csv",
        help="Rows: true class; columns: predicted class; with the class names.",
    )


def mistakes(
    client: WorkerClient, path: str, info: ModelInfo, test: TestSet | None, names: list[str]
):
    """The model's mistakes on the test set, after a click that runs the evaluation."""
    st.subheader("Mistakes on the test images")
    if test is None:
        st.info("Needs a test set of labelled images like the model's training data.")
        return
    if info.nan_layers:
        st.info("This model's weights hold values that are not numbers; it has no answers.")
        return
    evaluation = client.cached_evaluation(path, test.reference)
    if evaluation is None:
        if not st.button(
            f"Find the mistakes among {len(test.images):,} test images",
            key="inspect.mistakes_go",
            help="Runs every test image through the network once (a few seconds).",
        ):
            st.caption(
                "A confusion matrix whose cells open their images, the test images with the "
                "highest loss, and both as CSV files."
            )
            return
        with st.spinner("Running the test images through the network…"):
            evaluation = reported_errors(lambda: client.evaluate_dataset(path, test.reference))
        if evaluation is None:
            return
        st.rerun()  # drawn again without the button, from the client's cache
    wrong = int((evaluation.predicted != evaluation.labels).sum())
    st.markdown(
        f"Accuracy on {len(evaluation.labels):,} {_set_words(test)}: "
        f"**{evaluation.accuracy:.1%}** ({plural(wrong, 'mistake')})."
    )
    _cell_images(evaluation, test, names)
    _top_losses(evaluation, test, names)
    _downloads(evaluation, names, info.name, test)
