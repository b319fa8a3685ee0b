"""Model picker of "Inspect a Network": bundled models, the user's saved models, an upload.

`model_picker` returns a `ModelChoice` (a `.keras` path and its sidecar) or None with the
reason already on screen. `inference_client` is the one worker client the whole server
shares (`st.cache_resource`): the worker keeps models loaded between reruns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.base.paths import BUNDLED_MODELS_DIR
from core.data.catalog import display_name
from core.jobs import model_store
from core.jobs.inspection import InferenceError, ModelInfo, ModelRejectedError
from core.jobs.legacy_models import LEGACY_NOTE
from core.jobs.uploads import MAX_UPLOAD_BYTES
from core.jobs.worker_client import WorkerClient, shared_client
from ui.widgets.short_choice import choose_one

SOURCES = ("bundled", "saved", "upload")


DEFAULT_BUNDLED = "mnist_cnn_a"


SOURCE_LABELS = {"bundled": "Bundled", "saved": "My saved models", "upload": "Upload .keras"}


# Where the page keeps the path of the model its views were drawn for.
CURRENT_MODEL_KEY = "inspect.current_model"


# Widgets whose values name parts of one model (its layers, channels, filters, units,
# classes, test images): dropped on a switch. The page's own state (the shared link, the
# open tab, the input kind) is left alone.
_VIEWS = "cam_ filter_ enlarge rf_ top_ pool_ unit_ test_index pick_ position_ dataset mistake"
MODEL_VIEWS = tuple(f"inspect.{name}" for name in _VIEWS.split())


@dataclass(frozen=True)
class ModelChoice:
    """The model to inspect: its file, a label and its sidecar (`{}` for uploads)."""

    path: str
    label: str
    metadata: dict


def inference_client() -> WorkerClient:
    """The worker client shared by all sessions and pages (the worker holds TensorFlow)."""
    return shared_client()


def _models_in(folder: Path | None) -> list[model_store.SavedModel]:
    try:
        return model_store.list_models(models_dir=folder)
    except OSError:
        return []


def _describe(model: model_store.SavedModel) -> str:
    accuracy = (model.metadata.get("metrics") or {}).get("test_accuracy")
    dataset = model.metadata.get("dataset")
    parts = [model.title]
    if dataset:
        parts.append(display_name(str(dataset)))
    if isinstance(accuracy, int | float):
        parts.append(f"{accuracy:.2%} test accuracy")
    return " · ".join(parts)


def model_picker() -> ModelChoice | None:
    """Draw the model controls and return the chosen model (None: nothing usable yet).

    A different model than on the last run resets every view that depended on the old one
    (`forget_other_models_views`).
    """
    choice = _pick_model()
    if choice is not None:
        forget_other_models_views(choice.path)
    return choice


def forget_other_models_views(path: str) -> None:
    """On a switch to another model, drop the values of every per-model widget (layers,
    channels, classes, units, test images), so each view starts from the new model's default
    instead of keeping a name or number that meant something else."""
    previous = st.session_state.get(CURRENT_MODEL_KEY)
    st.session_state[CURRENT_MODEL_KEY] = path
    if previous is None or previous == path:
        return
    for key in list(st.session_state.keys()):
        if str(key).startswith(MODEL_VIEWS):
            del st.session_state[key]


def _pick_model() -> ModelChoice | None:
    source = st.radio(
        "Model",
        SOURCES,
        format_func=SOURCE_LABELS.get,
        horizontal=True,
        key="inspect.model_source",
        help="Bundled models ship with ConvScope and work at once. Saved models are the ones "
        "you trained on the 'Train a CNN' page. Or upload any Keras 3 .keras file of an "
        "image CNN (loaded in safe mode: no Lambda layers or custom code).",
    )
    if source == "upload":
        return _upload_picker()
    folder = BUNDLED_MODELS_DIR if source == "bundled" else None
    models = _models_in(folder)
    if not models:
        where = model_store.models_dir() if source == "saved" else BUNDLED_MODELS_DIR
        st.info(
            f"No models in {where}. Train one on the 'Train a CNN' page and save it, or pick "
            "a bundled model."
        )
        return None
    names = [model.name for model in sorted(models, key=lambda m: m.name)]
    by_name = {model.name: model for model in models}
    name = choose_one(
        "Saved model" if source == "saved" else "Bundled model",
        names,
        format_func=lambda n: _describe(by_name[n]),
        key=f"inspect.model_{source}",
        default=DEFAULT_BUNDLED,
        help="Each model comes with a sidecar saying what it was trained on and how; the "
        "inputs below are prepared exactly the same way.",
    )
    chosen = by_name[name]
    description = chosen.metadata.get("description")
    if description:
        st.caption(description)
    return ModelChoice(str(chosen.path), chosen.title, dict(chosen.metadata))


def _upload_picker() -> ModelChoice | None:
    # Any file is taken, so a pickle, a SavedModel or a checkpoint gets a message that says
    # what it is and what to do, not only the uploader's "files are not allowed".
    uploaded = st.file_uploader(
        "Upload a .keras (or older .h5) model",
        key="inspect.model_upload",
        max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024),
        help=f"A Keras 3 model saved with model.save('name.keras'), up to "
        f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB, with one image input; an older .h5 model "
        "is converted to .keras first. It is loaded with safe_mode=True, so Lambda layers "
        "and custom Python code are refused.",
    )
    if uploaded is None:
        st.info("Choose a .keras or .h5 model file to inspect it.")
        return None
    try:
        info = inference_client().load_upload(uploaded.getvalue())
    except (ModelRejectedError, InferenceError, TypeError) as error:
        st.error(f"**{uploaded.name}** cannot be inspected. {error}")
        return None
    if LEGACY_NOTE in info.notes:
        st.info(LEGACY_NOTE)
    return ModelChoice(info.path, uploaded.name, {})


def load_model_info(choice: ModelChoice) -> ModelInfo | None:
    """Ask the worker to load the model; show why on failure and return None."""
    client = inference_client()
    try:
        with st.spinner("Loading the model…"):
            info = client.model_info(choice.path)
    except ModelRejectedError as error:
        st.error(f"**{choice.label}** cannot be inspected. {error}")
        return None
    except (InferenceError, OSError) as error:
        st.error(f"**{choice.label}** could not be loaded: {error}")
        return None
    if info.problem:
        st.error(f"**{choice.label}** cannot be inspected here. {info.problem}")
        return None
    for note in info.notes:  # no convolution layers; weights that are not numbers
        (st.warning if "NaN" in note else st.info)(note)
    return info
