"""Links that restore any page: every page keeps its whole state in the address.

A page declares its linked controls (``ui.widgets.link_params.LinkField``: query name,
session-state key, type, default, allowed values) in one ``PageLink`` and calls
``start()`` at the top of its script, before any linked widget is drawn:

- on the page's first run in a session, and whenever a restore was requested, it reads
  ``st.query_params``, checks each parameter on its own, and puts the valid values (the
  defaults for the rest) into the widgets' session state;
- it shows ONE warning naming every bad, stale or unknown parameter and what it fell back
  to (until the user changes something);
- it writes the page's whole state back into the address (``sync``), which the page
  calls again at its end and every fragment at its end when it reruns alone, so the
  address never lags.

Only values that differ from the defaults are written; opening the link restores the
page exactly. ``hide=name1,name2`` and ``lock=name3`` in a link hide or disable the named
controls (the page still computes with their linked values), so a lecturer can hand out
a stripped-down exercise; both stay in the address.

The contract other features rely on (a lecture room whose students follow a lecturer):

- ``request_restore()`` marks that the page must re-read its state from
  ``st.query_params`` at the top of its next run, as on a first visit. A follower sets
  ``st.query_params.from_dict(params)``, calls ``request_restore()``, then
  ``st.rerun()`` or ``st.switch_page(page, query_params=params)`` (Streamlit's
  ``switch_page`` clears the address unless it is given the parameters).
- ``current_link() -> dict[str, str]`` returns the current page's full link parameters,
  exactly what the address shows, for broadcasting.
- ``reserve_params(*names)`` declares parameters owned by such a feature (e.g. a room
  code): no page reports them as unknown and ``sync`` leaves them in the address.
- ``on_fragment_sync(callback)``: ``callback()`` runs whenever a fragment that reruns
  alone has written the page's state into the address (``sync``), so a lecturer's change
  inside a page's fragment reaches the room from that run, not from the next poll.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import streamlit as st

from ui.widgets.link_params import (
    SHOWN_CHARS,
    LinkField,
    Problem,
    decode,
    encode,
    format_value,
    is_default,
    parse_names,
    warning_text,
)

HIDE, LOCK = "hide", "lock"


RESTORE_KEY = "_link.restore"  # set by request_restore(), taken by the next page to start


ACTIVE_KEY = "_link.active"  # the PageLink of the page that ran last


_RESERVED: set[str] = {HIDE, LOCK}


_FRAGMENT_SYNC_CALLBACKS: list[Callable[[], None]] = []


_PLAIN = (str, int, float, tuple, list)  # values whose ``repr`` says all (memoized texts)


_MEMO_SIZE = 4096  # texts a PageLink remembers before it starts again


def reserve_params(*names: str) -> None:
    """Parameters other features own: never reported as unknown, kept by ``sync``."""
    _RESERVED.update(names)


def on_fragment_sync(callback: Callable[[], None]) -> None:
    """Call ``callback()`` after each ``sync`` made in a run of fragments alone."""
    if callback not in _FRAGMENT_SYNC_CALLBACKS:
        _FRAGMENT_SYNC_CALLBACKS.append(callback)


def reserved_params() -> frozenset[str]:
    return frozenset(_RESERVED)


def request_restore() -> None:
    """Make the next page run re-read its whole state from ``st.query_params``."""
    st.session_state[RESTORE_KEY] = True


def active_link() -> PageLink | None:
    """The ``PageLink`` of the page this session shows (``None`` before any page started)."""
    return st.session_state.get(ACTIVE_KEY)


def current_link() -> dict[str, str]:
    """The current page's full link parameters: what the address shows after ``sync``."""
    link = active_link()
    if link is None:
        return dict(st.query_params.to_dict())
    return link.params()


def sync() -> None:
    """Write the current page's state into the address when fragments rerun alone.

    Fragments call it at their end. In a run of the whole page the page's own ``finish``
    writes the address after its last element, so here it would only be worked out twice
    (in a lecture room, twice for every following student).
    """
    link = active_link()
    if link is not None and in_fragment_run():
        link.sync()


def locked(name: str) -> bool:
    """Whether the current page's link locks control ``name``."""
    link = active_link()
    return link is not None and link.locked(name)


def key_class(key: str) -> str:
    """The CSS class Streamlit gives the element drawn with ``key``.

    >>> key_class("kernel.stride_rows")
    'st-key-kernel-stride_rows'
    """
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


ROW_SUFFIX = "__row"  # the keyed row of a control drawn as several elements


def row_key(key: str) -> str:
    """The key of the row holding every element of the control keyed ``key``.

    A control drawn as ◀ ▶ buttons, words and a popover (``ui.widgets.short_choice``,
    ``ui.widgets.number_pick``) wraps them in a container with this key, so that a link
    that hides or locks ``key`` reaches all of them.

    >>> row_key("arch.network")
    'arch.network__row'
    """
    return key + ROW_SUFFIX


def _selector(key: str) -> str:
    """A CSS selector for ``key`` and its row; a trailing ``*`` matches every key starting so.

    >>> _selector("a.b")
    '.st-key-a-b, .st-key-a-b__row'
    """
    if key.endswith("*"):
        return f'[class*="{key_class(key[:-1])}"]'
    return f".{key_class(key)}, .{key_class(row_key(key))}"


def controls_css(hidden: Iterable[str], locked_keys: Iterable[str]) -> str:
    """CSS that hides some elements and greys out (and blocks clicks on) others.

    >>> print(controls_css(["a.b"], ["c*"]).replace("} ", "}\\n"))
    <style>.st-key-a-b, .st-key-a-b__row {display: none !important;}
    [class*="st-key-c"] {pointer-events: none; opacity: 0.55;}</style>
    """
    rules = [f"{_selector(key)} {{display: none !important;}}" for key in hidden]
    rules += [f"{_selector(key)} {{pointer-events: none; opacity: 0.55;}}" for key in locked_keys]
    return "<style>" + " ".join(rules) + "</style>" if rules else ""


class _StoreReader:
    """Reads Streamlit's own session store directly: ``get``, ``[]`` and ``in``.

    >>> reader = _StoreReader({"a": 1})
    >>> reader.get("a"), reader.get("b", 2), "a" in reader, reader["a"]
    (1, 2, True, 1)
    """

    __slots__ = ("_store",)

    def __init__(self, store) -> None:
        self._store = store

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._store[key]
        except KeyError:
            return default

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def __contains__(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING


_MISSING = object()


def state_reader() -> Mapping:
    """The session's state, for reading many values at once (``PageLink.params``).

    Each read through ``st.session_state`` takes a lock and checks whether the run must
    stop: a few microseconds, and a page's link reads some 35 values several times a run
    (a lecture room's followers too). Streamlit's own store gives the same values without
    that; where this Streamlit has no such store, it is ``st.session_state``.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    store = getattr(getattr(ctx, "session_state", None), "_state", None)
    if store is None or not hasattr(store, "__getitem__"):
        return st.session_state
    return _StoreReader(store)


def in_fragment_run() -> bool:
    """Whether this run reruns fragments alone (not the whole page)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


class PageLink:
    """The linked state of one page.

    Args:
        page: a short page name, the prefix of this helper's session keys ("kernel").
        fields: the linked controls, in the order they are restored (``put``).
        keep: parameters the page itself owns outside this helper (Train's ``run``).
        put_defaults: on a restore, put every default the link leaves out (for widgets
            drawn without a ``value=`` of their own); False puts only what changes.
        expand: the values a link's values imply for the fields it leaves out (a worked
            example named by ``ex=`` brings its input, kernel and options).
        css_keys: per field name, the element keys ``hide``/``lock`` act on when they are
            not the field's own keys (a trailing ``*`` matches keys that change).
    """

    def __init__(
        self,
        page: str,
        fields: Sequence[LinkField],
        *,
        keep: Iterable[str] = (),
        css_keys: Mapping[str, Sequence[str]] | None = None,
        put_defaults: bool = True,
        expand: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    ):
        self.page = page
        self.fields = tuple(fields)
        self.by_name = {item.name: item for item in self.fields}
        if len(self.by_name) != len(self.fields):
            raise ValueError(f"{page}: two linked fields share a name")
        self.keep = frozenset(keep)
        self.css_keys = {name: tuple(keys) for name, keys in (css_keys or {}).items()}
        self.put_defaults = put_defaults
        self.expand = expand
        self._texts: dict[tuple[str, str], dict[str, str]] = {}  # ``_encoded``'s memo

    def _encoded(self, item: LinkField, value: Any) -> dict[str, str]:
        """``encode`` of one field's value, remembered for plain values.

        A page asks for its link several times a run (each sync, a figure's caption, the
        lecture room), and every student of a room shows the same values: a value's text
        is worked out once. ``repr`` tells 1 from 1.0 from True; arrays are not memoized.

        >>> link = PageLink("demo", [LinkField("n", 1, "int", ("demo.n",), low=1, high=5)])
        >>> [link._encoded(link.fields[0], value) for value in (1, 3, 3, 1)]
        [{}, {'n': '3'}, {'n': '3'}, {}]
        """
        shown = repr(value) if isinstance(value, _PLAIN) else "..."
        if "..." in shown:  # not plain, or an array inside that ``repr`` abridges
            return encode((item,), {item.name: value})
        key = (item.name, shown)
        text = self._texts.get(key)
        if text is None:
            text = encode((item,), {item.name: value})
            if len(self._texts) >= _MEMO_SIZE:
                self._texts.clear()
            self._texts[key] = text
        return text

    # ---------------------------------------------------------------- session keys
    def _key(self, name: str) -> str:
        return f"{self.page}._link.{name}"  # under the page's own prefix

    def _known(self) -> frozenset[str]:
        return self.keep | reserved_params()

    # ---------------------------------------------------------------- values
    def value(self, item: LinkField, state: Mapping | None = None) -> Any:
        """The field's current value (its default when its widget holds none)."""
        state = st.session_state if state is None else state
        if item.get is not None:
            return item.get(state)
        if item.kind == "ints":
            return tuple(
                state.get(key, default)
                for key, default in zip(item.keys, item.default, strict=True)
            )
        return state.get(item.keys[0], item.default)

    def put(self, item: LinkField, value: Any) -> None:
        """Put ``value`` into the field's state (before its widget is drawn)."""
        if item.put is not None:
            item.put(value)
        elif item.kind == "ints":
            st.session_state.update(dict(zip(item.keys, value, strict=True)))
        else:
            st.session_state[item.keys[0]] = value

    def values(self) -> dict[str, Any]:
        state = st.session_state
        return {item.name: self.value(item, state) for item in self.fields}

    def put_all(self, values: Mapping[str, Any]) -> None:
        """Set every field: ``values`` where given, the default otherwise.

        With ``put_defaults=False`` a field the link leaves out is only put back when it
        holds something else: widgets that draw their own default (``value=``) then never
        get a value through session state as well, which Streamlit logs a warning about.
        """
        for item in self.fields:
            if item.name in values:
                self.put(item, values[item.name])
            elif self.put_defaults or not is_default(item, self.value(item)):
                self.put(item, item.default)

    def params(self) -> dict[str, str]:
        """The page's link: its non-default values, ``hide``/``lock``, and kept parameters."""
        state = state_reader()
        params: dict[str, str] = {}
        for item in self.fields:
            try:
                params.update(self._encoded(item, self.value(item, state)))
            except (TypeError, ValueError):
                continue  # a value the page has not settled yet: leave it out
        for name in (HIDE, LOCK):
            names = state.get(self._key(name), ())
            if names:
                params[name] = ",".join(names)
        query = st.query_params
        for name in sorted((self._known() - {HIDE, LOCK}).intersection(query)):
            if name not in params:
                params[name] = query[name]
        return params

    # ---------------------------------------------------------------- hide and lock
    def hidden(self, name: str) -> bool:
        return name in st.session_state.get(self._key(HIDE), ())

    def locked(self, name: str) -> bool:
        return name in st.session_state.get(self._key(LOCK), ())

    def _element_keys(self, name: str) -> tuple[str, ...]:
        return self.css_keys.get(name) or self.by_name[name].keys

    # ---------------------------------------------------------------- restore
    def check(self, params: Mapping[str, str | list[str]]) -> tuple[dict, list, dict]:
        """What ``params`` set, its problems, and the controls it hides and locks (pure).

        >>> link = PageLink("demo", [LinkField("n", 1, "int", ("demo.n",), low=1, high=5)])
        >>> values, problems, controls = link.check({"n": "4", "hide": "n,zz"})
        >>> values, [p.name for p in problems], controls
        ({'n': 4}, ['hide'], {'hide': ('n',), 'lock': ()})
        """
        decoded = decode(self.fields, params, known=self._known())
        problems = list(decoded.problems)
        controls: dict[str, tuple[str, ...]] = {}
        for name in (HIDE, LOCK):
            given = params.get(name, [])
            given = [given] if isinstance(given, str) else list(given)
            good, bad = parse_names(given[-1] if given else "", self.by_name)
            controls[name] = good
            for unknown in bad:
                reason = "is not a control of this page, so it cannot be hidden or locked"
                problems.append(Problem(name, unknown, reason, ""))
        return decoded.values, problems, controls

    def restore(self) -> None:
        """Read the whole state from ``st.query_params`` (first visit or requested)."""
        params = {name: st.query_params.get_all(name) for name in st.query_params}
        values, problems, controls = self.check(params)
        implied = dict(self.expand(values)) if self.expand is not None else {}
        self.put_all({**implied, **values})
        state = st.session_state
        state[self._key(HIDE)], state[self._key(LOCK)] = controls[HIDE], controls[LOCK]
        locked_values = {name: self.value(self.by_name[name]) for name in controls[LOCK]}
        state[self._key("locked_values")] = locked_values
        state[self._key("problems")] = tuple(problems)
        state[self._key("restored")] = True
        state[self._key("linked")] = {
            name: format_value(self.by_name[name], value) for name, value in values.items()
        }
        state[self._key("restored_link")] = self.params()

    def enforce_locks(self) -> None:
        """Put locked controls back to their linked values (before they are drawn)."""
        for name, value in st.session_state.get(self._key("locked_values"), {}).items():
            item = self.by_name[name]
            if format_value(item, self.value(item)) != format_value(item, value):
                self.put(item, value)

    def problems(self) -> tuple[Problem, ...]:
        """The link's problems while the page still shows what the link set."""
        state = st.session_state
        problems = state.get(self._key("problems"), ())
        if problems and self.params() != state.get(self._key("restored_link")):
            state[self._key("problems")] = problems = ()
        return problems

    def stale(self, name: str, shown: str, reason: str) -> None:
        """Report a parameter found stale after the start (a layer the model lacks).

        The page has already put the control to its fallback; the warning is redrawn.
        """
        shown = shown if len(shown) <= SHOWN_CHARS else shown[: SHOWN_CHARS - 1] + "…"
        problem = Problem(name, shown, reason, "")
        state = st.session_state
        state[self._key("problems")] = (*state.get(self._key("problems"), ()), problem)
        state[self._key("restored_link")] = self.params()
        self._draw_warning()

    def _draw_warning(self) -> None:
        # The placeholder lives in session state: a PageLink is shared by every session.
        slot = st.session_state.get(self._key("slot"))
        if slot is None or in_fragment_run():  # the slot is outside any fragment
            return
        problems = self.problems()
        if problems:
            slot.warning(warning_text(problems), icon=":material/link_off:")
        else:
            slot.empty()

    def start(self) -> None:
        """Restore when needed, enforce locks, show the warning and hide/lock CSS, sync."""
        state = st.session_state
        state[ACTIVE_KEY] = self
        state.pop(self._key("linked"), None)  # ``finish`` checks only the run that restored
        if not state.get(self._key("restored")) or state.pop(RESTORE_KEY, False):
            self.restore()
        self.enforce_locks()
        state[self._key("slot")] = st.empty()
        self._draw_warning()
        hidden = [
            key for name in state.get(self._key(HIDE), ()) for key in self._element_keys(name)
        ]
        locked_keys = [
            key for name in state.get(self._key(LOCK), ()) for key in self._element_keys(name)
        ]
        css = controls_css(hidden, locked_keys)
        if css:
            st.html(css)
        self.sync()

    def finish(self) -> None:
        """At the end of the page: name linked values the page could not use, then sync.

        In the run that restored the link, a control whose value is no longer what the
        link set was refused by the page itself (a layer this model lacks, a pixel
        outside the output): that parameter is named in the warning as stale.
        """
        linked = st.session_state.pop(self._key("linked"), None) or {}
        for name, text in linked.items():
            item = self.by_name[name]
            try:
                now = format_value(item, self.value(item))
            except (TypeError, ValueError):
                continue
            if now != text:
                reason = f"cannot be used here (it is {now} instead)"
                self.stale(name, text, reason)
        self.sync()

    def sync(self) -> None:
        """Write the page's state into the address when it differs from what is there."""
        wanted = self.params()
        current = {name: st.query_params.get_all(name) for name in st.query_params}
        if current != {name: [text] for name, text in wanted.items()}:
            st.query_params.from_dict(wanted)
        if _FRAGMENT_SYNC_CALLBACKS and in_fragment_run():
            for callback in _FRAGMENT_SYNC_CALLBACKS:
                callback()
