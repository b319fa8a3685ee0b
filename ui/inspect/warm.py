"""Start the inference worker when the server starts, not when Inspect is first opened.

The worker imports TensorFlow and loads a model, which takes seconds: done once per server
process on a background thread (``st.cache_resource``), the first visit to "Inspect a
Network" finds the default model loaded and its feature maps traced, so it opens as fast as
the other pages. TensorFlow still runs only in the worker process.
"""

from __future__ import annotations

import threading

import numpy as np
import streamlit as st

from core.base.paths import BUNDLED_MODELS_DIR
from core.jobs.inspection import InferenceError, ModelRejectedError
from core.jobs.worker_client import WorkerClient
from ui.inspect.models import DEFAULT_BUNDLED, inference_client

DEFAULT_MODEL = BUNDLED_MODELS_DIR / f"{DEFAULT_BUNDLED}.keras"


def warm_up(client: WorkerClient, path=DEFAULT_MODEL) -> bool:
    """Start ``client``'s worker, load the model at ``path`` and run it once; True if it did.

    A failure is only noted here: the page asks again and says what went wrong.
    """
    try:
        info = client.model_info(path)
        if info.ok:
            client.feature_maps(path, np.zeros(info.input_shape, np.float32))
        return info.ok
    except (InferenceError, ModelRejectedError, OSError, ValueError):
        return False


@st.cache_resource(show_spinner=False)
def warm_inference_worker() -> threading.Thread:
    """Warm the shared worker on a background thread, once per server process."""
    thread = threading.Thread(
        target=warm_up, args=(inference_client(),), name="warm-inference-worker", daemon=True
    )
    thread.start()
    return thread
