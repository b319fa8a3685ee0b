"""Train page, part 4: what the trained network got right and wrong, and the models store.

Everything is read from the run folder (``evaluation.json``, ``predictions.npz``); the test
images come from the same data source the worker used.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st

from core.base.numbers import plural
from core.jobs import model_store
from core.jobs.model_store import ModelStoreError
from core.jobs.runs import EVALUATION_FILE, MODEL_SIDECAR_FILE
from core.jobs.training_job import TrainingJob
from ui.train.data import builtin_dataset, load_npz_dataset
from ui.widgets.axes import probability_axis
from ui.widgets.figure_export import export_button

GALLERY_SIZE = 24


GALLERY_COLUMNS = 8


def _evaluated_images(job: TrainingJob, split: str) -> np.ndarray | None:
    """The arrays the run was evaluated on: ``x_test``, or ``x_train`` for a validation split."""
    dataset_entry = job.config.get("dataset", {})
    try:
        if "npz_path" in dataset_entry:
            dataset = load_npz_dataset(dataset_entry["npz_path"])
        else:
            dataset = builtin_dataset(dataset_entry["name"])
    except (OSError, ValueError, KeyError):
        return None
    return dataset.x_test if split == "test" else dataset.x_train


def confusion_figure(matrix: np.ndarray, class_names: list[str]) -> go.Figure:
    """Rows: true class; columns: predicted class; the count in every cell."""
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=class_names,
            y=class_names,
            colorscale="Blues",
            text=matrix,
            texttemplate="%{text}",
            colorbar=dict(title="images"),
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="predicted", type="category")
    figure.update_yaxes(title_text="true", type="category", autorange="reversed")
    figure.update_layout(height=420, margin=dict(l=10, r=10, t=10, b=10))
    return figure


def show_evaluation(job: TrainingJob) -> None:
    """Test accuracy, confusion matrix, per-class accuracy and a "predicted (true)" gallery."""
    evaluation = job.evaluation()
    if evaluation is None:
        if (job.run_dir / EVALUATION_FILE).exists():
            st.warning("This run's test results cannot be read (the file is damaged).")
        else:
            st.info("This run ended before it was evaluated, so there are no test results.")
        return
    names = [str(n) for n in evaluation["class_names"]]
    split = evaluation.get("evaluated_on", "test")
    accuracy_col, count_col, wrong_col = st.columns(3)
    accuracy_col.metric(f"{split.capitalize()} accuracy", f"{evaluation['test_accuracy']:.2%}")
    count_col.metric(f"{split.capitalize()} images", f"{evaluation['num_test']:,}")
    wrong_col.metric("Misclassified", f"{evaluation.get('num_misclassified', 0):,}")

    matrix_col, per_class_col = st.columns([3, 2])
    with matrix_col:
        st.markdown("**Confusion matrix** (rows: true class, columns: predicted)")
        st.plotly_chart(
            confusion_figure(np.array(evaluation["confusion_matrix"]), names),
            key="train.confusion_chart",
        )
    with per_class_col:
        st.markdown("**Accuracy per class**")
        per_class = [np.nan if a is None else a for a in evaluation["per_class_accuracy"]]
        figure = go.Figure(go.Bar(x=per_class, y=names, orientation="h"))
        figure.update_layout(
            height=420,
            margin=dict(l=10, r=10, t=10, b=10),
            xaxis=probability_axis(title="accuracy"),
            yaxis=dict(autorange="reversed", type="category"),
        )
        st.plotly_chart(figure, key="train.per_class_chart")
    _gallery(job, evaluation, names)


def _gallery(job: TrainingJob, evaluation: dict, names: list[str]) -> None:
    predictions = job.predictions()
    split = evaluation.get("evaluated_on", "test")
    images = _evaluated_images(job, split)
    if predictions is not None:
        # Where each evaluated image sits in its arrays (older runs: test images in order).
        positions = predictions.get("image_index", np.arange(len(predictions["true"])))
    if predictions is None or images is None or (len(positions) and positions.max() >= len(images)):
        st.caption(f"The {split} images are not available on this server, so no gallery.")
        return
    if max(predictions["predicted"].max(), predictions["true"].max()) >= len(names):
        st.caption("The saved predictions do not match the run's classes, so no gallery.")
        return
    count = len(predictions["true"])
    wrong = [m["index"] for m in evaluation.get("misclassified", []) if 0 <= m["index"] < count]
    right = np.flatnonzero(predictions["predicted"] == predictions["true"])
    # Mistakes first, but keep a row of correct answers in view for contrast.
    num_wrong = min(len(wrong), GALLERY_SIZE - min(len(right), GALLERY_COLUMNS))
    shown = wrong[:num_wrong] + [int(i) for i in right[: GALLERY_SIZE - num_wrong]]
    st.markdown(
        f"**{split.capitalize()} images: predicted (true)** — {num_wrong} of the "
        f"{len(wrong):,} mistakes "
        "first (the most confident ones), then correct answers: red is wrong, green right."
    )
    for start in range(0, len(shown), GALLERY_COLUMNS):
        columns = st.columns(GALLERY_COLUMNS)
        for column, index in zip(columns, shown[start : start + GALLERY_COLUMNS], strict=False):
            predicted, true = int(predictions["predicted"][index]), int(predictions["true"][index])
            colour = "green" if predicted == true else "red"
            column.image(images[int(positions[index])], width=72, clamp=True)
            column.markdown(f":{colour}[{names[predicted]} ({names[true]})]")
    said, truth = predictions["predicted"], predictions["true"]
    tiles = [
        labelled_tile(
            images[int(positions[index])],
            f"{names[int(said[index])]} ({names[int(truth[index])]})",
            right=bool(said[index] == truth[index]),
        )
        for index in shown
    ]
    if tiles:
        export_button(
            tile_grid(tiles, GALLERY_COLUMNS), f"{split.capitalize()} images: predicted (true)"
        )


TILE_PX = 96  # a gallery tile in the downloaded picture, its label drawn under it


def labelled_tile(image: np.ndarray, label: str, *, right: bool) -> np.ndarray:
    """One image of the gallery as 8-bit RGB, enlarged, framed green (right) or red (wrong),
    with its label under it.

    >>> labelled_tile(np.zeros((28, 28, 1), np.uint8), "7 (7)", right=True).shape
    (118, 100, 3)
    """
    values = np.asarray(image)
    if values.dtype != np.uint8:  # floats in [0, 1], as the page shows them (clamped)
        values = np.round(np.clip(values.astype(np.float32), 0.0, 1.0) * 255).astype(np.uint8)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.ndim == 2:
        values = np.stack([values] * 3, axis=2)
    picture = cv2.resize(values[:, :, :3], (TILE_PX, TILE_PX), interpolation=cv2.INTER_NEAREST)
    colour = (46, 139, 87) if right else (214, 39, 40)
    framed = cv2.copyMakeBorder(picture, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=colour)
    band = np.full((18, framed.shape[1], 3), 255, np.uint8)
    cv2.putText(band, label[:16], (2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1, cv2.LINE_AA)
    return np.concatenate([framed, band])


def tile_grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """Equal tiles in rows of ``columns`` on white (the last row padded).

    >>> tile_grid([np.zeros((2, 3, 3), np.uint8)] * 5, 4).shape
    (4, 12, 3)
    """
    blank = np.full_like(tiles[0], 255)
    padded = tiles + [blank] * (-len(tiles) % columns)
    rows = [np.concatenate(padded[i : i + columns], axis=1) for i in range(0, len(padded), columns)]
    return np.concatenate(rows)


def save_controls(job: TrainingJob) -> None:
    """Save the run's model in the store under a name the user picks."""
    if job.model_path is None:
        if (job.run_dir / MODEL_SIDECAR_FILE).exists():
            st.warning(
                "This run's model file is missing (deleted or moved), so it cannot be saved. "
                "Train the model again to get one."
            )
        return
    if not zipfile.is_zipfile(job.model_path):
        return  # damaged: the run's list of problems (above) says so
    name_col, button_col = st.columns([3, 1])
    default = _default_name(job.config)
    name = name_col.text_input(
        "Save the model as",
        value=st.session_state.get("train.save_name", default),
        key="train.save_name",
        help="Letters, digits, spaces, '.', '_' and '-'. The model lands in the models folder "
        "with a JSON sidecar (data set, classes, preprocessing, metrics) and can then be "
        "opened on the Inspect a Network page.",
    )
    overwrite = name_col.checkbox(
        "Replace a model of the same name", key="train.save_overwrite", help="Overwrite."
    )
    keep = name_col.checkbox(
        "Keep optimizer state to train further",
        key="train.save_keep_optimizer",
        help="Saved without it, the file is about a third of the size (Adam keeps two numbers "
        "per weight) and predicts the same; keep it to go on training it in Keras from where "
        "it stopped.",
    )
    name_col.caption(
        "Saved without the optimizer state unless you tick the box: smaller, and the same "
        "predictions."
    )
    if button_col.button("Save", key="train.save", help="Copy the trained model to the store."):
        try:
            saved = job.save(name, overwrite=overwrite, keep_optimizer=keep)
        except (ModelStoreError, FileNotFoundError) as error:
            st.error(f"Not saved: {error}")
        except OSError as error:
            st.error(f"Not saved: the model file could not be written ({_reason(error)}).")
        else:
            st.success(f"Saved as **{saved.name}** ({saved.size_bytes / 1e6:.1f} MB).")


def _default_name(config: dict) -> str:
    """ "<model> <data set> <time>" from a run's settings (any part missing: left out).

    >>> _default_name({"model": {"spec": {"name": "lenet5"}}, "dataset": {"name": "mnist"},
    ...                "run_id": "20260101-123456-x"})
    'lenet5 mnist 123456'
    >>> _default_name({"model": 5})
    'model'
    """
    try:
        model = (config.get("model", {}).get("spec") or {}).get("name", "model")
        dataset = config.get("dataset", {})
        stem = Path(dataset.get("npz_path", "data")).stem.rsplit("-", 1)[0]
        data_name = dataset.get("name") or stem
        return f"{model} {data_name} {str(config.get('run_id', ''))[9:15]}".strip()
    except (AttributeError, TypeError):
        return "model"


def _reason(error: OSError) -> str:
    """An OS error in words, without its class name or number."""
    return (error.strerror or "an input/output error").lower()


def model_store_manager() -> None:
    """List the stored models; rename, delete, download, or upload a .keras file."""
    folder = model_store.models_dir()
    try:
        models = model_store.list_models()
    except (OSError, ModelStoreError) as error:
        reason = _reason(error) if isinstance(error, OSError) else error
        st.error(f"The models folder `{folder}` cannot be read: {reason}.")
        return
    st.caption(f"Models folder: `{folder}` — {plural(len(models), 'model')}.")
    if models:
        st.dataframe(
            [
                {
                    "Name": m.name,
                    "Data set": m.metadata.get("dataset", "?"),
                    "Parameters": m.metadata.get("params") or m.metadata.get("total_params"),
                    "Test accuracy": (m.metadata.get("metrics") or {}).get("test_accuracy"),
                    "Size (MB)": round(m.size_bytes / 1e6, 2),
                    "Saved": m.created,
                    "Note": m.problem or "",
                }
                for m in models
            ],
            hide_index=True,
            column_config={"Test accuracy": st.column_config.NumberColumn(format="percent")},
        )
        names = [m.name for m in models]
        picked = st.selectbox(
            "Model", names, key="train.store_pick", help="The stored model to act on."
        )
        rename_col, delete_col, download_col = st.columns(3)
        new_name = rename_col.text_input(
            "New name", key="train.store_new_name", help="Rename the model and its sidecar."
        )
        if rename_col.button("Rename", key="train.store_rename", help="Apply the new name."):
            try:
                model_store.rename_model(picked, new_name)
            except ModelStoreError as error:
                st.error(f"Not renamed: {error}")
            except OSError as error:
                st.error(f"Not renamed: the models folder could not be changed ({_reason(error)}).")
            else:
                st.rerun()
        sure = delete_col.checkbox(
            "Yes, delete it", key="train.store_sure", help="Deleting cannot be undone."
        )
        if delete_col.button(
            "Delete", key="train.store_delete", disabled=not sure, help="Remove the model."
        ):
            try:
                model_store.delete_model(picked)
            except ModelStoreError as error:
                st.error(f"Not deleted: {error}")
            except OSError as error:
                st.error(f"Not deleted: the models folder could not be changed ({_reason(error)}).")
            else:
                st.rerun()
        try:
            data = model_store.read_model_bytes(picked)
        except ModelStoreError as error:
            download_col.error(f"Cannot read it: {error}")
        except OSError as error:
            download_col.error(f"Cannot read it: {_reason(error)}.")
        else:
            download_col.download_button(
                "Download .keras",
                data,
                file_name=f"{picked}.keras",
                key="train.store_download",
                help="The model file, loadable with keras.models.load_model.",
            )
    _upload()


def _upload() -> None:
    # Any file is taken, so a pickle, a SavedModel or a checkpoint gets a message that says
    # what it is and what to do, not only the uploader's "files are not allowed".
    upload = st.file_uploader(
        "Upload a .keras (or older .h5) model",
        key="train.store_upload",
        help="Checked in a separate process with Keras' safe mode: Lambda layers and custom "
        "code are refused. An older .h5 model is converted to .keras there.",
    )
    if upload is None:
        return
    name = st.text_input(
        "Store it as",
        value=upload.name.removesuffix(".keras").removesuffix(".h5"),
        key="train.store_upload_name",
        help="The name in the models folder.",
    )
    if st.button("Add to the store", key="train.store_upload_go", help="Check and store it."):
        try:
            with st.spinner("Checking the model…"):
                saved = model_store.upload_model(upload.getvalue(), name)
        except ModelStoreError as error:
            st.error(f"Not added: {error}")
        else:
            st.success(f"Added **{saved.name}**.")
            for note in saved.metadata.get("notes") or []:  # converted from .h5, no convs, NaN
                (st.warning if "NaN" in note else st.info)(note)
