"""Train a CNN: pick data, build a network, and watch it learn — live, in the browser.

1. Data: a built-in set (MNIST, Fashion-MNIST, CIFAR-10) or your own image folders,
   preprocessing and augmentation, with examples of what the network will see.
2. Architecture: a preset from the course texts or a stack you edit (the summary follows
   every edit), or transfer learning on a frozen, pretrained MobileNetV2.
3. Train: Start, Pause/Resume, Stop, Reset; loss and accuracy curves and the first-layer
   filters update while it learns.
4. Results: test accuracy, confusion matrix, the images it got wrong; save the model.
5. MLP vs CNN: the same data and the same time budget for both.

Training runs in a separate worker process (`core.jobs.training_job`): the Streamlit server never
imports TensorFlow, so the page stays quick while the network trains, and a run survives a
page reload (its folder path is kept in ``st.session_state["train.run_dir"]``).
"""

import streamlit as st

from core.nets.specs import ModelSpec, spec_to_dict
from ui.architectures.picker import wrap_labels
from ui.train.architecture import architecture_editor
from ui.train.compare import compare_controls, compare_view
from ui.train.data import augmentation_section, data_picker, show_samples
from ui.train.health import show_health
from ui.train.link import LINK
from ui.train.live import (
    current_job,
    live_view,
    recent_runs_picker,
    show_start_message,
    start_job,
)
from ui.train.results import model_store_manager, save_controls, show_evaluation
from ui.train.settings import train_settings
from ui.widgets.presentation import main_picture

st.title("Train a CNN")
LINK.start()  # a shared link sets data, augmentation, architecture and settings
main_picture(".st-key-train-samples_chart", ".st-key-train-curves_chart")  # presentation
wrap_labels()  # a narrow window: checkbox and metric labels wrap, not cut
st.caption(
    "Choose the images, stack the layers, press Start, and watch the loss fall and the "
    "first-layer filters turn from random noise into edge and blob detectors."
)

# -- 1. Data ---------------------------------------------------------------------------------
st.header("1 · Data", divider="gray")
choice = data_picker()
augmentation = None
if choice is not None:
    show_samples(choice)
    st.subheader("Augmentation")
    st.caption(
        "Random changes to every training batch, so the network sees a slightly different "
        "picture each epoch and learns what does not matter (position, angle, size)."
    )
    augmentation = augmentation_section(choice)

# -- 2. Architecture -------------------------------------------------------------------------
st.header("2 · Architecture", divider="gray")
spec = None
if choice is None:
    st.info("Choose a data set first: the architecture adapts to its image shape and classes.")
else:
    spec = architecture_editor(
        choice.input_shape, choice.dataset.num_classes, data_kind=choice.kind
    )

# -- 3. Train --------------------------------------------------------------------------------
st.header("3 · Train", divider="gray")
config = None
if choice is not None:
    config = train_settings(augmentation, len(choice.dataset.x_train))
job = current_job()
job_is_live = job is not None and job.status().is_live
ready = spec is not None and config is not None
# What the worker builds: a spec dict, or a transfer request (already a plain dict).
model_request = spec_to_dict(spec) if isinstance(spec, ModelSpec) else spec
start_col, note_col = st.columns([1, 4])
start_col.button(
    "Start",
    type="primary",
    key="train.start",
    disabled=not ready or job_is_live,
    on_click=start_job,
    args=(model_request if ready else None, choice, config),
    help="Train this architecture on this data. Training runs in the background: the page "
    "stays usable.",
)
if job_is_live and job.status().is_waiting:
    note_col.caption("Your job waits in the queue: cancel it to start a different one.")
elif job_is_live:
    note_col.caption("A run is in progress: stop it or let it finish to start another.")
elif not ready:
    note_col.caption("Fix the data, architecture or settings above to start training.")
else:
    note_col.caption(
        "Training runs on the server in its own process; you can leave this page and "
        "come back, or reload it — the run carries on."
    )
show_start_message()
recent_runs_picker()
if job is not None:
    st.caption(f"Run `{job.run_dir.name}`")
    live_view(job, was_live=job_is_live)
    # One class for everything, or chance accuracy: what to try.
    show_health(job, was_live=job_is_live)

# -- 4. Results ------------------------------------------------------------------------------
st.header("4 · Results", divider="gray")
if job is None:
    st.info("Train a network (or open a recent run) to see how well it does on test images.")
elif job_is_live:  # the status the live view polls on: one reading per run
    st.info("The results appear here when training ends (or when you press Stop).")
else:
    show_evaluation(job)
    save_controls(job)
folder = st.expander(
    "Models folder: rename, delete, download, upload", key="train.models_open", on_change="rerun"
)
if folder.open is not False:  # folded: nothing to list, read or send to the browser
    with folder:
        model_store_manager()

# -- 5. MLP vs CNN ---------------------------------------------------------------------------
st.header("5 · MLP vs CNN", divider="gray")
st.caption(
    "A dense network sees pixels, not neighbourhoods: it needs far more parameters and "
    "still does worse on images. Train both on the same data for the same time and compare."
)
if choice is not None and config is not None:
    compare_controls(choice, spec if isinstance(spec, ModelSpec) else None, config)
compare_view()
LINK.finish()  # names linked values the page could not use; keeps the address current
