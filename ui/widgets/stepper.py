"""Step-through controls: a slider, ◀ ▶ buttons and a play/pause button.

``step_through(key, num_steps, render)`` draws the controls and calls
``render(step)`` for the current step, all inside one ``st.fragment``: moving
the slider or pressing a button reruns only the fragment, not the page. While
playing, the fragment reruns itself every ``interval_s`` seconds
(``run_every``) and advances one step; the rest of the page never blocks and
stays usable. Playing stops by itself at the last step.

Session keys (namespaced by ``key``, e.g. ``key="arith.stepper"``):
``f"{key}.step"`` (int, the slider) and ``f"{key}.playing"`` (bool).
Set ``f"{key}.step"`` before the call to jump somewhere (tests do).
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ui.widgets import page_link

MOVE_BUTTONS = (  # key suffix, icon, tooltip
    ("first", ":material/first_page:", "Go back to the first position."),
    ("back", ":material/chevron_left:", "Move the window back by one position."),
    ("forward", ":material/chevron_right:", "Move the window on by one position."),
    ("last", ":material/last_page:", "Jump to the last position."),
)


def _keys(key: str) -> tuple[str, str, str]:
    return f"{key}.step", f"{key}.playing", f"{key}.skip_advance"


def current_step(key: str, num_steps: int) -> int:
    """The stored step clamped to ``[0, num_steps − 1]`` (0 when nothing is stored)."""
    step_key, _, _ = _keys(key)
    value = st.session_state.get(step_key, 0)
    try:
        value = int(value)
    except (TypeError, ValueError):
        value = 0
    return min(max(value, 0), max(num_steps - 1, 0))


def _move(key: str, num_steps: int, delta: int | None = None, to: int | None = None) -> None:
    step_key, playing_key, skip_key = _keys(key)
    step = current_step(key, num_steps)
    step = to if to is not None else step + (delta or 0)
    st.session_state[step_key] = min(max(step, 0), num_steps - 1)
    st.session_state[playing_key] = False
    st.session_state[skip_key] = True


def _toggle_play(key: str, num_steps: int) -> None:
    step_key, playing_key, skip_key = _keys(key)
    playing = not st.session_state.get(playing_key, False)
    if playing and current_step(key, num_steps) >= num_steps - 1:
        st.session_state[step_key] = 0  # replay from the start
    st.session_state[playing_key] = playing
    st.session_state[skip_key] = True


def step_through(
    key: str,
    num_steps: int,
    render: Callable[[int], None],
    *,
    label: str = "Step",
    help: str | None = None,  # noqa: A002 (Streamlit's own name for tooltips)
    interval_s: float = 0.8,
    format_step: Callable[[int], str] | None = None,
) -> None:
    """Draw the step controls and ``render(step)``; animate while playing.

    Args:
        key: session-key prefix, e.g. "arith.stepper" (one per stepper on a page).
        num_steps: number of steps (>= 1); the step is clamped when it shrinks.
        render: called with the current step inside the fragment; draw
            everything that depends on the step here.
        label, help: the slider's label and tooltip.
        interval_s: seconds between steps while playing.
        format_step: slider caption for a step, e.g. ``lambda s: f"output (0, {s})"``.
    """
    step_key, playing_key, skip_key = _keys(key)
    num_steps = max(int(num_steps), 1)
    st.session_state[step_key] = current_step(key, num_steps)
    st.session_state.setdefault(playing_key, False)
    playing_at_creation = bool(st.session_state[playing_key]) and num_steps > 1

    @st.fragment(run_every=interval_s if playing_at_creation else None)
    def _stepper() -> None:
        playing = bool(st.session_state.get(playing_key, False))
        if playing != playing_at_creation:
            st.rerun(scope="app")  # run_every is fixed at creation: rebuild the fragment
        if playing and not st.session_state.pop(skip_key, False):
            step = current_step(key, num_steps)
            if step >= num_steps - 1:
                st.session_state[playing_key] = False
                st.rerun(scope="app")
            st.session_state[step_key] = step + 1
        st.session_state.pop(skip_key, None)
        first, back, forward, last, play, slider = st.columns(
            [1, 1, 1, 1, 3, 8], vertical_alignment="bottom"
        )
        at_start = current_step(key, num_steps) == 0
        at_end = current_step(key, num_steps) == num_steps - 1
        moves = ({"to": 0}, {"delta": -1}, {"delta": 1}, {"to": num_steps - 1})
        for column, (name, icon, tip), move, disabled in zip(
            (first, back, forward, last),
            MOVE_BUTTONS,
            moves,
            (at_start, at_start, at_end, at_end),
            strict=True,
        ):
            column.button(
                "",
                icon=icon,
                key=f"{key}.{name}",
                help=tip,
                on_click=_move,
                args=(key, num_steps),
                kwargs=move,
                disabled=disabled,
            )
        play.button(
            "Pause" if playing else "Play",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            key=f"{key}.play",
            help=(
                f"Animate the whole pass, one position every {interval_s:g} s. "
                "The rest of the page stays usable while it plays."
            ),
            on_click=_toggle_play,
            args=(key, num_steps),
            disabled=num_steps == 1,
            type="primary" if playing else "secondary",
        )
        if num_steps > 1:
            slider.slider(
                label,
                min_value=0,
                max_value=num_steps - 1,
                key=step_key,
                help=help,
                format="%d",
                on_change=lambda: st.session_state.update({playing_key: False}),
            )
        else:
            slider.caption(f"{label}: the only position.")
        step = current_step(key, num_steps)
        if format_step is not None:
            st.caption(format_step(step))
        render(step)
        page_link.sync()  # the fragment reruns alone: the new position goes into the address

    _stepper()
