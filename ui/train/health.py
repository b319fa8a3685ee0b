"""Train page: a warning when the network has not learned, with what to try.

The rule is `core.jobs.run_health.learning_warnings`: one class for nearly every image, or
chance accuracy. While a run trains it is judged on validation accuracy (checked every few
seconds); once it has been evaluated, on its test results.
"""

from __future__ import annotations

import streamlit as st

from core.jobs.run_health import learning_warnings
from core.jobs.training_job import TrainingJob

# Seconds between checks while training: the verdict changes at most once an epoch.
HEALTH_POLL_SECONDS = 5.0


def job_warnings(job: TrainingJob) -> list:
    """The run's learning warnings, from its evaluation, or its epochs while it trains."""
    metadata = job.model_metadata()  # written after each epoch, and at the end
    status = job.status()
    evaluation = None if status.is_live else job.evaluation()
    return learning_warnings(
        evaluation,
        job.config.get("train_config"),
        epochs=job.progress().epochs if evaluation is None else None,
        num_classes=metadata.get("num_classes"),
        params=metadata.get("params"),
    )


def show_warnings(warnings: list) -> None:
    """Each warning as a box: the symptom, then the remedies as a list."""
    for warning in warnings:
        remedies = "\n".join(f"- {remedy}" for remedy in warning.remedies)
        st.warning(f"**The network has not learned much.** {warning.problem}\n\nTry:\n{remedies}")


def show_health(job: TrainingJob, was_live: bool) -> None:
    """The run's learning warnings; rechecked every few seconds while it trains
    (``was_live``: as for `live_view`)."""

    @st.fragment(run_every=HEALTH_POLL_SECONDS if was_live else None)
    def _view():
        show_warnings(job_warnings(job))

    _view()
