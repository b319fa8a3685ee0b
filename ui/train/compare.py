"""Train page, part 5: an MLP against a CNN on the same data with the same time budget.

The two run one after the other (so neither slows the other down), each with the page's
optimizer, batch size, image cap and seed, and each worker ends its training once the
training time — pauses, TensorFlow's start-up and the final evaluation not counted —
reaches the budget (``TrainConfig.time_budget_seconds``).
"""

from __future__ import annotations

import dataclasses

import streamlit as st

from core.jobs.train_config import TrainConfig
from core.jobs.training_job import JobCapError, TrainingJob
from core.nets.presets import preset
from core.nets.specs import spec_from_dict, spec_to_dict
from core.nets.summary import summarize

COMPARE_KEY = "train.compare"


ERROR_KEY = "train.compare_error"


MAX_EPOCHS = 100  # the budget, not the epochs, ends each run


# The budgets on offer, in seconds. A row of choices rather than a slider: the page already
# has radio buttons, and a first slider would cost a first visit its code (bench/widget_cost.py).
BUDGETS = (5, 15, 30, 60, 120, 300)


def budget_label(seconds: int) -> str:
    """
    >>> [budget_label(s) for s in (5, 60, 300)]
    ['5 s', '1 min', '5 min']
    """
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _has_conv(spec) -> bool:
    return any(layer.type == "Conv2D" for layer in spec.layers)


def compare_controls(choice, cnn_spec, config: TrainConfig) -> None:
    """The time budget and the button that queues both runs."""
    budget_col, button_col = st.columns([3, 1])
    budget_col.radio(
        "Training time per model",
        BUDGETS,
        index=BUDGETS.index(30),
        format_func=budget_label,
        horizontal=True,
        key="train.compare_budget",
        help="Each model trains alone for this long (training time only: loading TensorFlow "
        "and evaluating are not counted), then stops and is tested.",
    )
    cnn = cnn_spec if cnn_spec is not None and _has_conv(cnn_spec) else None
    if cnn is None:
        cnn = preset(
            "mnist_cnn_a", input_shape=choice.input_shape, num_classes=choice.dataset.num_classes
        )
        reason = (
            "is not a CNN built from scratch (a transfer model, or a stack with an error)"
            if cnn_spec is None
            else "has no Conv2D layer"
        )
        st.caption(f"The architecture above {reason}, so the CNN here is MNIST CNN A.")
    mlp = preset("mlp", input_shape=choice.input_shape, num_classes=choice.dataset.num_classes)
    state = st.session_state.get(COMPARE_KEY)
    button_col.button(
        "Train both",
        key="train.compare_start",
        disabled=bool(state) and _busy(state),
        on_click=_queue_both,
        args=(choice, mlp, cnn, config),
        help="Train the MLP, then the CNN, each for the time budget (one comparison at a time).",
    )


def _queue_both(choice, mlp, cnn, config: TrainConfig) -> None:
    """Button callback: queue both runs (before the rerun, so it already shows them)."""
    budget = float(st.session_state["train.compare_budget"])
    run_config = dataclasses.replace(
        config,
        epochs=MAX_EPOCHS,
        learning_rate_schedule="constant",
        restore_best_weights=False,
        time_budget_seconds=budget,  # the worker ends training itself when time is up
    )
    st.session_state[COMPARE_KEY] = {
        "budget": budget,
        "config": run_config.to_dict(),
        "source": choice.training_source,
        "preprocessing": dataclasses.asdict(choice.preprocessing),
        "entries": [
            {"label": "MLP", "spec": spec_to_dict(mlp), "run_dir": None},
            {"label": f"CNN ({cnn.name})", "spec": spec_to_dict(cnn), "run_dir": None},
        ],
    }


def _advance(state: dict) -> str | None:
    """Start the next run when the previous one has ended; returns a busy message."""
    for entry in state["entries"]:
        if entry["run_dir"] is None:
            try:
                job = TrainingJob.start(
                    entry["spec"],
                    state["source"],
                    TrainConfig.from_dict(state["config"]),
                    preprocessing=state["preprocessing"],
                )
            except JobCapError as error:
                return f"Waiting for a free training slot: {error}"
            entry["run_dir"] = str(job.run_dir)
            return None
        if TrainingJob.attach(entry["run_dir"]).poll().is_live:
            return None  # one at a time; the poll also keeps the watchdog away
    return None


def _busy(state: dict) -> bool:
    entries = state["entries"]
    if any(entry["run_dir"] is None for entry in entries):
        return True
    try:
        return any(TrainingJob.attach(entry["run_dir"]).status().is_live for entry in entries)
    except FileNotFoundError:
        return False  # a run folder was deleted: nothing more to wait for


def compare_view() -> None:
    """The side-by-side table, polled while either run is still to do."""
    error = st.session_state.pop(ERROR_KEY, None)
    if error:
        st.error(error)
    state = st.session_state.get(COMPARE_KEY)
    if not state:
        return
    was_busy = _busy(state)

    @st.fragment(run_every=1.0 if was_busy else None)
    def _view():
        try:
            message = _advance(state)
        except (FileNotFoundError, ValueError, TypeError, OSError) as error:
            # Drop the comparison (its runs stay in the runs folder) and say why, once.
            st.session_state.pop(COMPARE_KEY, None)
            st.session_state[ERROR_KEY] = f"The comparison could not go on: {error}"
            st.rerun()
        if was_busy and not _busy(state):
            st.rerun()
        if message:
            st.warning(message)
        rows = []
        for entry in state["entries"]:
            row = {
                "Model": entry["label"],
                "Parameters": summarize(spec_from_dict(entry["spec"])).total_params,
            }
            if entry["run_dir"] is None:
                rows.append({**row, "State": "waiting"})
                continue
            job = TrainingJob.attach(entry["run_dir"])
            status = job.status()
            evaluation = job.evaluation() or {}
            rows.append(
                {
                    **row,
                    "State": status.state,
                    "Training time (s)": round(status.elapsed_seconds, 1),
                    "Epochs done": round(status.step / max(1, status.batches_per_epoch), 2),
                    "Samples/s": round(status.samples_per_second or 0),
                    "Test accuracy": evaluation.get("test_accuracy"),
                }
            )
        st.dataframe(
            rows,
            hide_index=True,
            column_config={
                "Parameters": st.column_config.NumberColumn(format="localized"),
                "Test accuracy": st.column_config.NumberColumn(format="percent"),
            },
        )
        st.caption(
            f"Budget: {state['budget']:g} s of training each, one after the other on the same "
            "images with the same optimizer, batch size and seed (a constant learning rate, "
            "since the number of epochs is set by the clock). Each run ends after the batch "
            "that crosses the budget; the times shown also include that batch and the last "
            "validation pass, so they run a little over. Test accuracy is measured after "
            "training, on the same test images for both."
        )

    _view()
