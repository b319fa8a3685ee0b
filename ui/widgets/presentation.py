"""Presentation mode and the keyboard: the page's main picture fills a projector screen.

``navigation.py`` calls ``presentation_switch()`` on every run, before the page: a link's
``present=1`` (read on the session's first run) or the switch turns the mode on. Then the
sidebar is closed, the type is larger, and a compact bar at the top offers "Leave", "Show
controls", the list of keys and, to a lecturer presenting to a room, "Ask the room"
(``room_slot``). Each page names its main picture once with
``main_picture(selector)``: in presentation mode everything drawn before that block (the
title, the introduction, the controls; at every level, inside tabs too) folds away, so the
picture and the numbers after it start at the top of the screen. "Show controls" unfolds
them.

The keys work on every page (``keyboard()``, one script in the page itself): ←/→ click the
step-by-step's back/forward buttons, space its play/pause button, 1–9 the page's worked
example buttons (any button whose key has an ``.example.`` part, in page order), and ``p``
the switch. Keys typed into a text field, a slider or a list are left alone.
"""

from __future__ import annotations

import json

import streamlit as st

from ui.widgets.page_link import key_class, reserve_params

PARAM = "present"  # ?present=1 opens a page in presentation mode
ON_KEY = "present.on"
CONTROLS_KEY = "present.controls"  # "Show controls" in presentation mode
BAR_KEY = "present.bar"
KEYS_OPEN_KEY = "present.keys_open"  # the sidebar's list of keys: drawn only while open
KEYS_BAR_OPEN_KEY = "present.keys_bar_open"  # the same in the presentation bar
ROOM_SLOT_KEY = "present.room_slot"  # this run's place in the bar for the lecture room
SWITCH_ON_KEY, SWITCH_OFF_KEY = "present.switch_on", "present.switch_off"
SWITCH_MARK = "present-switch"  # both switches' CSS classes contain it: what ``p`` clicks
ROOM_BLOCKS = '[class*="st-key-room-"]'  # the lecture room's keyed blocks above the page
EXAMPLE_MARK = ".example."  # an example button's key contains it: what 1–9 click

KEYS = (  # key, what it does: shown on screen and in the README
    ("← / →", "move the sliding window back / on by one position"),
    ("space", "play or pause the step-by-step"),
    ("1 – 9", "load the page's worked example 1 to 9"),
    ("p", "turn presentation mode on or off"),
)

# The pages keep ``present`` in their address and never call it unknown.
reserve_params(PARAM)


def example_key(prefix: str, name: str) -> str:
    """The session key of a worked-example button: the keys 1–9 find it by ``.example.``.

    >>> example_key("arith", "ex1")
    'arith.example.ex1'
    """
    return f"{prefix}{EXAMPLE_MARK}{name}"


def parse_param(text: str | None) -> bool | None:
    """``present=`` as on/off: ``None`` when the text is neither 1/0 nor true/false.

    >>> parse_param("1"), parse_param("false"), parse_param("yes")
    (True, False, None)
    """
    value = (text or "").strip().lower()
    if value in ("1", "true", "on"):
        return True
    if value in ("0", "false", "off", ""):
        return False
    return None


def is_on() -> bool:
    """Whether this session presents."""
    return bool(st.session_state.get(ON_KEY, False))


def _set(on: bool) -> None:
    st.session_state[ON_KEY] = on
    st.session_state[CONTROLS_KEY] = False


def room_slot():
    """The bar's place for the lecture room's "Ask the room" while presenting, else ``None``.

    Presentation mode closes the sidebar, where the lecturer's button sits otherwise; a
    lecturer presenting to a room must still be able to ask the page's question.
    """
    return st.session_state.get(ROOM_SLOT_KEY) if is_on() else None


def toggle() -> None:
    """Callback of both switches (and of the key ``p``)."""
    _set(not is_on())


def base_css() -> str:
    """Presentation mode's look on every page: no sidebar, no header, large type.

    >>> "stSidebar" in base_css()
    True
    """
    return (
        "<style>"
        '[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],'
        ' [data-testid="stExpandSidebarButton"], [data-testid="stHeader"],'
        ' [data-testid="stToolbar"] {display: none !important;}'
        '[data-testid="stMainBlockContainer"] {padding: 0.4rem 1.2rem 2rem !important;'
        " max-width: 100% !important;}"
        '[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,'
        ' [data-testid="stMain"] [data-testid="stCaptionContainer"] p'
        " {font-size: 1.08rem;}"
        '[data-testid="stMain"] [data-testid="stVerticalBlock"] {gap: 0.45rem;}'
        # a photo fits the screen's height with room for its caption and the bar
        '[data-testid="stMain"] [data-testid="stImage"] img {max-height: 53vh;'
        " width: auto !important; max-width: 100%; object-fit: contain;}"
        f".{key_class(BAR_KEY)} {{border-bottom: 1px solid #ccc; padding-bottom: 0.2rem;}}"
        "</style>"
    )


def fold_css(*selectors: str) -> str:
    """CSS that folds away every block drawn before the one matching one of ``selectors``.

    At every level of the page (a tab, a column), the blocks before the one that is or
    holds the picture are hidden; the presentation bar and the lecture room's blocks above
    the page (a student's follow bar, the open question and its answer chart) stay.

    >>> css = fold_css(".st-key-a", ".st-key-b")
    >>> ":has(~ .st-key-a, ~ * .st-key-a, ~ .st-key-b, ~ * .st-key-b)" in css
    True
    """
    later = ", ".join(f"~ {selector}, ~ * {selector}" for selector in selectors)
    return (
        "<style>"
        f'[data-testid="stMain"] [data-testid="stVerticalBlock"] >'
        f" :not(:has(> .{key_class(BAR_KEY)})):not(:has(> {ROOM_BLOCKS}))"
        f":has({later}) {{display: none !important;}}"
        "</style>"
    )


def keys_help() -> None:
    """The list of keys, as a small table."""
    lines = ["| Key | What it does |", "|---|---|"]
    lines += [f"| **{key}** | {meaning} |" for key, meaning in KEYS]
    st.markdown("\n".join(lines))
    st.caption("Keys work when no text field has the focus.")


KEYBOARD_SCRIPT = """
<script>
(() => {
  if (window.__convscopeKeys) return;
  window.__convscopeKeys = true;
  const shown = (el) => el.offsetParent !== null;
  // One per element: Streamlit draws a second, hidden button element inside some of them.
  const press = (mark, index) => {
    const holders = document.querySelectorAll(
      `[data-testid="stElementContainer"][class*="${mark}"]`);
    const all = [...holders].map((holder) => holder.querySelector('button')).filter(Boolean);
    const usable = all.filter((b) => !b.disabled);
    const button = index === undefined ? (usable.find(shown) || usable[0]) : all[index];
    if (!button || button.disabled) return false;
    button.click();
    button.blur();
    return true;
  };
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)
    || el.closest('[role="slider"], [role="listbox"], [role="combobox"], [role="tab"],'
      + ' [role="grid"], [data-testid="stDataFrame"]'));
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (typing(event.target)) return;
    let done = false;
    if (event.key === 'ArrowRight') done = press('stepper-forward');
    else if (event.key === 'ArrowLeft') done = press('stepper-back');
    else if (event.key === ' ') done = press('stepper-play');
    else if (event.key === 'p' || event.key === 'P') done = press('SWITCH_MARK');
    else if (/^[1-9]$/.test(event.key)) done = press('EXAMPLE_MARK', Number(event.key) - 1);
    if (done) event.preventDefault();
  }, true);
  // Presentation mode: shrink each picture the page names (window.__convscopeFit) until it
  // fits the screen below where it starts, and the width of its column.
  const fit = () => {
    const on = !!document.querySelector('.st-key-present-bar');
    const main = document.querySelector('[data-testid="stMain"]');
    for (const el of document.querySelectorAll('[data-present-zoom]')) {
      el.style.zoom = '';
      el.removeAttribute('data-present-zoom');
    }
    if (!on || !main) return;
    const mainTop = main.getBoundingClientRect().top - main.scrollTop;
    for (const selector of (window.__convscopeFit || [])) {
      for (const el of document.querySelectorAll(selector)) {
        if (el.offsetParent === null) continue;
        const box = el.getBoundingClientRect();
        const room = window.innerHeight - (box.top - mainTop) - 6;
        if (room < 80) continue;  // starts below the first screen: left as it is
        const width = el.parentElement.clientWidth;
        const zoom = Math.min(1, room / box.height, width / Math.max(el.scrollWidth, 1));
        if (zoom < 0.995) {
          el.style.zoom = String(Math.max(zoom, 0.35));
          el.setAttribute('data-present-zoom', '');
        }
      }
    }
  };
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(fit, 150); };
  new MutationObserver(later).observe(document.body, { childList: true, subtree: true });
  window.addEventListener('resize', later);
  window.__convscopeRefit = later;
})();
</script>
"""


def keyboard_script() -> str:
    """The page script behind the keys (installed once per browser tab).

    >>> "press('-example-', Number(event.key) - 1)" in keyboard_script()
    True
    """
    example_mark = key_class("x" + EXAMPLE_MARK + "y")[len("st-key-x") : -1]
    return KEYBOARD_SCRIPT.replace("SWITCH_MARK", SWITCH_MARK).replace("EXAMPLE_MARK", example_mark)


def keyboard() -> None:
    """Install the keys in the page: a script in the sidebar, which runs even while
    presentation mode hides the sidebar (in the main area it would be an invisible first
    element, and the page's first element is what tests wait for)."""
    st.sidebar.html(keyboard_script(), unsafe_allow_javascript=True)


def _read_link() -> None:
    """The session's first run: ``present=`` in the address sets the mode."""
    if ON_KEY in st.session_state:
        return
    given = st.query_params.get(PARAM)
    value = parse_param(given)
    if value is None:
        st.warning(
            f"The link's present={given[:20]} is not 1 or 0, so presentation mode stays off. "
            "Use present=1 to open a page in presentation mode.",
            icon=":material/link_off:",
        )
    _set(bool(value))


def _write_link(on: bool) -> None:
    if on and st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"
    elif not on and PARAM in st.query_params:
        del st.query_params[PARAM]


def presentation_switch() -> bool:
    """The switch, the bar, the keys and the look, before the page runs; returns the mode."""
    _read_link()
    on = is_on()
    _write_link(on)
    keyboard()
    if not on:
        st.session_state.pop(ROOM_SLOT_KEY, None)
        with st.sidebar:
            st.button(
                "Presentation mode",
                key=SWITCH_ON_KEY,
                icon=":material/slideshow:",
                on_click=toggle,
                help="For a projector: the page's main picture fills the screen, the "
                "controls fold away, the type is larger. Key: p.",
            )
            keys = st.expander(
                "Keys", icon=":material/keyboard:", key=KEYS_OPEN_KEY, on_change="rerun"
            )
            if keys.open:  # built only while open: the sidebar is on every page's first paint
                with keys:
                    keys_help()
        return False
    st.html(base_css())
    with st.container(key=BAR_KEY, horizontal=True, vertical_alignment="center"):
        st.button(
            "Leave presentation",
            key=SWITCH_OFF_KEY,
            icon=":material/close_fullscreen:",
            on_click=toggle,
            help="Back to the normal page with its sidebar. Key: p.",
        )
        st.toggle(
            "Show controls",
            key=CONTROLS_KEY,
            help="Unfold the page's controls above the picture.",
        )
        keys = st.popover(
            "Keys", icon=":material/keyboard:", key=KEYS_BAR_OPEN_KEY, on_change="rerun"
        )
        if keys.open:
            with keys:
                keys_help()
        st.session_state[ROOM_SLOT_KEY] = st.empty()  # filled by the room after the page
    return True


def main_picture(*selectors: str, fit: tuple[str, ...] = ()) -> None:
    """A page names its main picture: in presentation mode what comes before it folds away.

    ``selectors``: CSS selectors (no commas) of the block to start the screen with, such as
    ``".st-key-arith-stepper-first"``, one per tab that has its own picture. ``fit``:
    selectors of pictures shrunk, in presentation mode, to fit the screen below their top.
    """
    if not is_on():
        return
    folded = not st.session_state.get(CONTROLS_KEY, False)
    st.html(
        fit_script(fit) + (fold_css(*selectors) if folded else ""), unsafe_allow_javascript=True
    )


def fit_script(selectors: tuple[str, ...]) -> str:
    """The script that names the pictures to fit to the screen (the keys' script fits them).

    >>> fit_script((".st-key-a",))
    '<script>window.__convscopeFit = [".st-key-a"]; window.__convscopeRefit?.();</script>'
    """
    names = json.dumps(list(selectors))
    return f"<script>window.__convscopeFit = {names}; window.__convscopeRefit?.();</script>"
