"""Train page: the training queue (place, estimate, Cancel) and who this browser is.

A job past the server's cap waits in the queue (`core.jobs.job_queue`). Every browser gets a
random id kept in a cookie, so a second tab of the same browser finds the run the first
one started (waiting or running) instead of offering Start again. Without the cookie (its
first visit, or cookies blocked), the id lives in the session.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3

import streamlit as st

from core.jobs.job_slots import queue_place, settle_lost_place
from core.jobs.runs import list_runs
from core.jobs.training_job import TrainingJob, promote_waiting

BROWSER_COOKIE = "convscope_browser"


BROWSER_ID_KEY = "train.browser_id"


CANCEL_MESSAGE_KEY = "train.cancel_message"


# The cookie's value as this page writes it: "b-" and 24 hex digits.
_BROWSER_ID = re.compile(r"b-[0-9a-f]{24}")


# A year, in seconds: the cookie outlives the server's restarts.
_COOKIE_SECONDS = 365 * 24 * 3600


def browser_id() -> str:
    """This browser's id: the cookie's, else one made now (and stored in the cookie)."""
    known = st.session_state.get(BROWSER_ID_KEY)
    if known is None:
        cookies = getattr(st.context, "cookies", None) or {}
        cookie = cookies.get(BROWSER_COOKIE)
        if isinstance(cookie, str) and _BROWSER_ID.fullmatch(cookie):
            known = cookie
        else:
            known = f"b-{secrets.token_hex(12)}"
            # Streamlit only reads cookies; a line of script writes it for the next tab.
            st.html(
                f"<script>document.cookie = '{BROWSER_COOKIE}={known}; path=/; "
                f"max-age={_COOKIE_SECONDS}; SameSite=Lax';</script>",
                unsafe_allow_javascript=True,
            )
        st.session_state[BROWSER_ID_KEY] = known
    return known


def own_live_run() -> TrainingJob | None:
    """This browser's newest run that is still going (waiting or training), if any."""
    owner = browser_id()
    for run in list_runs():
        if run.owner == owner and run.status.is_live:
            return TrainingJob(run.run_dir)
    return None


@st.cache_resource(show_spinner=False)
def promote_at_server_start() -> bool:
    """Once per server process: start what waited through a restart, if a slot is free."""
    promote_quietly()
    return True


def promote_quietly() -> None:
    """Start waiting jobs that now fit (cheap when none wait); a failure waits for the next poll."""
    # A busy or read-only runs folder: the next poll (or the next ended job) tries again.
    with contextlib.suppress(OSError, ValueError, sqlite3.Error):
        promote_waiting()


def about(seconds: float | None) -> str:
    """A wait in plain words, rounded as a person would say it.

    >>> about(20), about(70), about(150), about(3000), about(5400), about(None)
    ('in less than a minute', 'in about a minute', 'in about 3 minutes', 'in about 50 minutes', \
'in about 1 hour 30 minutes', 'when a running job can say how long it needs')
    """
    if seconds is None:
        return "when a running job can say how long it needs"
    minutes = int(seconds / 60 + 0.5)  # half up: 2.5 minutes is 'about 3'
    if seconds < 45:
        return "in less than a minute"
    if minutes <= 1:
        return "in about a minute"
    if minutes < 60:
        return f"in about {minutes} minutes"
    hours, minutes = divmod(int(seconds / 600 + 0.5) * 10, 60)
    hours_text = "1 hour" if hours == 1 else f"{hours} hours"
    return f"in about {hours_text}" + (f" {minutes} minutes" if minutes else "")


def queue_view(job: TrainingJob, on_cancelled) -> None:
    """Place in the queue, when the job should start, and Cancel (for a waiting job).

    ``on_cancelled()`` runs once the job has left the queue (the page stops following it).
    """
    place = queue_place(job.run_id)
    if place is None:
        if settle_lost_place(job.run_dir):
            st.rerun()  # the whole page: the run has ended (failed, saying why)
        st.caption("Leaving the queue: the job is starting.")
        return
    ahead = place.position - 1
    jobs_ahead = "nobody is" if ahead == 0 else ("1 job is" if ahead == 1 else f"{ahead} jobs are")
    running = "1 job runs" if place.running == 1 else f"{place.running} jobs run"
    st.info(
        f"**Waiting in the queue: place {place.position} of {place.waiting}** "
        f"({jobs_ahead} ahead of yours). The server trains at most {place.cap} at once and "
        f"{running} now, so yours should start {about(place.start_seconds)}. "
        "It starts by itself, even if you close this tab."
    )
    st.button(
        "Cancel",
        key="train.cancel",
        on_click=_cancel,
        args=(job, on_cancelled),
        help="Leave the queue. Nothing has been trained yet, so nothing is lost.",
    )


def _cancel(job: TrainingJob, on_cancelled) -> None:
    """Cancel button callback: leave the queue, or say the job has just started."""
    if job.cancel(browser_id()):
        on_cancelled()
        st.session_state[CANCEL_MESSAGE_KEY] = "Your job left the queue; nothing was trained."
    else:
        st.session_state[CANCEL_MESSAGE_KEY] = (
            "Your job had already started, so it was not cancelled: press Stop to end it."
        )


def show_cancel_message() -> None:
    """Show (once) what the last Cancel did."""
    message = st.session_state.pop(CANCEL_MESSAGE_KEY, None)
    if message is not None:
        st.info(message)
