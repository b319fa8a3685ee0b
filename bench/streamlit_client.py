"""A Streamlit client without a browser: the websocket protocol of the Streamlit 1.67 frontend.

One ``StreamlitSession`` is one browser tab, as far as the server can tell: it opens
``/_stcore/stream`` with the ``streamlit`` subprotocol, asks for a page with a
``BackMsg.rerun_script`` (a ``ClientState``), and reads the ``ForwardMsg``s the server
answers with (``new_session``, deltas, ``page_info_changed``, ``script_finished``, ...).

What it keeps, like the frontend's widget manager does:

- the state of every widget on the page, taken from the widget's delta when it first
  appears (or whenever the server sets its value) and sent back in full with every
  rerun, plus the one value the "user" changed, or a button's trigger;
- the fragment each widget was drawn in: changing a widget inside an ``st.fragment``
  asks for a rerun of that fragment only, as the browser does;
- the address's query string (``page_info_changed``) and the page's script hash;
- the hashes of cacheable messages it has seen (sent back as ``cached_message_hashes``,
  so the server may answer with a reference; a referenced message is looked up here);
- the images it has fetched: a new ``/media/...`` address is fetched over HTTP once, as a
  browser with a cache would.

Each request returns a ``Run``: when it was sent, when the first delta and the
script-finished message arrived, when an element a caller watches for first arrived, and
every exception element and error box the run drew.

No Streamlit code runs here: only its generated protobuf classes (``streamlit.proto``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED_OK = (
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
)
_ID = re.compile(r"^\$\$ID-[0-9a-f]+-(?P<key>.*)$")
# Widgets whose value the client keeps, and the WidgetState field the server reads.
STRING, DOUBLE, BOOL, DOUBLES, STRINGS = (
    "string_value",
    "double_value",
    "bool_value",
    "double_array_value",
    "string_array_value",
)
VALUE_FIELD = {
    "text_input": STRING,
    "text_area": STRING,
    "color_picker": STRING,
    "selectbox": STRING,
    "radio": STRING,
    "number_input": DOUBLE,
    "checkbox": BOOL,
    "slider": DOUBLES,
    "multiselect": STRINGS,
}
TRIGGERS = ("button", "download_button")  # a click is a trigger, no stored value


# A watched element: (kind, the element's protobuf) -> whether it is the one awaited.
Watch = Callable[[str, object], bool]


@dataclass
class Widget:
    """A widget as the client last saw it."""

    id: str
    kind: str
    label: str
    fragment_id: str
    proto: object
    disabled: bool = False

    @property
    def key(self) -> str:
        """The user key inside the widget id (``$$ID-<hash>-<key>``), or the id."""
        match = _ID.match(self.id)
        return match["key"] if match else self.id


@dataclass
class Run:
    """One script run as the client saw it (times from ``time.perf_counter()``)."""

    sent_at: float
    fragment_id: str = ""
    watch: Watch | None = None
    first_delta_at: float | None = None
    watched_at: float | None = None
    finished_at: float | None = None
    media_done_at: float | None = None
    status: int | None = None
    elements: list[tuple[tuple[int, ...], str, object]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    error_boxes: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)
    media_failures: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def seconds(self, at: float | None) -> float | None:
        return None if at is None else at - self.sent_at


class ProtocolError(RuntimeError):
    """The server closed the connection or answered something the client cannot follow."""


def _widget_value(kind: str, proto) -> WidgetState | None:
    """The state the frontend would hold for a widget just drawn, or ``None`` (no value)."""
    value_field = VALUE_FIELD.get(kind)
    if value_field is None:
        return None
    state = WidgetState(id=proto.id)
    if kind in ("selectbox", "radio"):
        if proto.HasField("raw_value"):
            state.string_value = proto.raw_value
        elif proto.HasField("default") and proto.default < len(proto.options):
            state.string_value = proto.options[proto.default]
        else:
            return None
    elif kind == "multiselect":
        values = (
            list(proto.raw_values) if proto.set_value else [proto.options[i] for i in proto.default]
        )
        state.string_array_value.data.extend(values)
    elif kind == "slider":
        values = list(proto.value) if proto.set_value and proto.value else list(proto.default)
        state.double_array_value.data.extend(values)
    elif kind == "checkbox":
        state.bool_value = proto.value if proto.set_value else proto.default
    else:  # text_input, text_area, color_picker, number_input: optional value or default
        if proto.HasField("value"):
            setattr(state, value_field, proto.value)
        elif proto.HasField("default"):
            setattr(state, value_field, proto.default)
        else:
            return None
    return state


async def _http_get(base_url: str, path: str, timeout: float) -> int:
    """GET ``path`` from the server; the number of body bytes (raises on a non-200 answer)."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port), timeout
    )
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise ProtocolError(f"GET {path}: {status.decode(errors='replace')}")
    return len(body)


class StreamlitSession:
    """One browser tab's conversation with a Streamlit server, without the browser."""

    def __init__(self, base_url: str, *, fetch_media: bool = True, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.fetch_media = fetch_media
        self.timeout = timeout
        self.widgets: dict[str, Widget] = {}  # by widget id
        self.states: dict[str, WidgetState] = {}  # the values sent with every rerun
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""
        self.query_string = ""
        self.auto_reruns_asked = 0
        self.requests = 0  # runs this client asked for (the server may start others)
        self._cache: dict[str, ForwardMsg] = {}
        self._fetched: set[str] = set()
        self._run: Run | None = None
        self._seen_ids: set[str] = set()
        self._ws = None
        self._reader: asyncio.Task | None = None
        self.closed_reason: str | None = None

    # ------------------------------------------------------------------ connection
    async def connect(self) -> None:
        url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        self._ws = await asyncio.wait_for(
            websockets.connect(url, subprotocols=["streamlit"], max_size=None), self.timeout
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg, time.perf_counter())
        except websockets.ConnectionClosed as closed:
            self.closed_reason = f"connection closed ({closed.code})"
        except Exception as error:  # noqa: BLE001 - reported as a disconnect
            self.closed_reason = f"{type(error).__name__}: {error}"
        else:
            self.closed_reason = "connection closed by the server"
        if self._run is not None:
            self._run.done.set()

    # ------------------------------------------------------------------ requests
    async def open(self, page: str = "", query_string: str = "", watch: Watch | None = None) -> Run:
        """Open a page by its url path (``""``: the default page), as typing its address."""
        if self._ws is None:
            await self.connect()
        self.query_string = query_string
        return await self._rerun(page_name=page, page_hash="", watch=watch)

    async def navigate(self, page: str, watch: Watch | None = None) -> Run:
        """Click a page in the navigation: its script hash, a fresh address."""
        self.query_string = ""
        return await self._rerun(page_name="", page_hash=self.pages[page], watch=watch)

    async def set_value(self, widget: Widget, value, watch: Watch | None = None) -> Run:
        """Change a widget's value as a user would; reruns its fragment (or the app)."""
        state = WidgetState(id=widget.id)
        value_field = VALUE_FIELD[widget.kind]
        if value_field in (DOUBLES, STRINGS):
            getattr(state, value_field).data.extend(value)
        else:
            setattr(state, value_field, value)
        self.states[widget.id] = state
        return await self._rerun(fragment_id=widget.fragment_id, watch=watch)

    async def click(self, widget: Widget, watch: Watch | None = None) -> Run:
        """Press a button: a trigger sent with this rerun only."""
        trigger = WidgetState(id=widget.id, trigger_value=True)
        return await self._rerun(fragment_id=widget.fragment_id, extra=[trigger], watch=watch)

    async def _rerun(
        self,
        *,
        page_name: str = "",
        page_hash: str | None = None,
        fragment_id: str = "",
        extra: list[WidgetState] = (),
        watch: Watch | None = None,
    ) -> Run:
        if self.closed_reason:
            raise ProtocolError(self.closed_reason)
        msg = BackMsg()
        client = msg.rerun_script
        client.query_string = self.query_string
        client.page_script_hash = self.page_hash if page_hash is None else page_hash
        client.page_name = page_name
        client.fragment_id = fragment_id
        client.widget_states.widgets.extend(
            [s for i, s in self.states.items() if i not in {e.id for e in extra}] + list(extra)
        )
        client.cached_message_hashes.extend(self._cache)
        context = client.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
        context.url = self.base_url + "/" + page_name
        context.is_embedded, context.color_scheme = False, "light"
        run = Run(sent_at=time.perf_counter(), fragment_id=fragment_id, watch=watch)
        self._run, self._seen_ids = run, set()
        self.requests += 1
        await self._ws.send(msg.SerializeToString())
        try:
            await asyncio.wait_for(run.done.wait(), self.timeout)
        except TimeoutError:
            raise TimeoutError(f"no script-finished message within {self.timeout:g} s") from None
        if run.status is None:
            raise ProtocolError(self.closed_reason or "the run ended without a finish")
        if self.fetch_media and run.media:
            await self._fetch(run)
        return run

    async def _fetch(self, run: Run) -> None:
        new = [url for url in dict.fromkeys(run.media) if url not in self._fetched]
        results = await asyncio.gather(
            *(_http_get(self.base_url, url, self.timeout) for url in new), return_exceptions=True
        )
        for url, result in zip(new, results, strict=True):
            if isinstance(result, BaseException):
                run.media_failures.append(f"{url}: {result}")
            else:
                self._fetched.add(url)
        run.media_done_at = time.perf_counter()

    # ------------------------------------------------------------------ messages
    def _handle(self, msg: ForwardMsg, now: float) -> None:
        if msg.HasField("ref_hash"):  # a cacheable message the client said it holds
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                raise ProtocolError(f"the server referred to unknown message {msg.ref_hash}")
            metadata = msg.metadata
            msg = ForwardMsg()
            msg.CopyFrom(cached)
            msg.metadata.CopyFrom(metadata)
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = msg
        kind = msg.WhichOneof("type")
        run = self._run
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
            if run is not None and run.done.is_set():  # a run the server started itself
                fragments = msg.metadata.run.fragment_ids
                run = self._run = Run(now, fragments[0] if fragments else "", run.watch)
                self._seen_ids = set()
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self.auto_reruns_asked += 1
        elif kind == "page_not_found" and run is not None:
            run.error_boxes.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "delta" and run is not None:
            if run.first_delta_at is None:
                run.first_delta_at = now
            self._delta(msg, run, now)
        elif kind == "session_event" and run is not None:
            event = msg.session_event
            if event.HasField("script_compilation_exception"):
                run.exceptions.append(event.script_compilation_exception.message)
        elif kind == "script_finished" and run is not None and msg.script_finished in FINISHED_OK:
            run.status, run.finished_at = msg.script_finished, now
            self._forget_stale(run)
            run.done.set()

    def _delta(self, msg: ForwardMsg, run: Run, now: float) -> None:
        delta = msg.delta
        if delta.WhichOneof("type") == "add_block":  # watched too: a popover's label
            kind = delta.add_block.WhichOneof("type")
            watching = kind and run.watched_at is None and run.watch is not None
            if watching and run.watch(kind, getattr(delta.add_block, kind)):
                run.watched_at = now
            return
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind is None:
            return
        proto = getattr(element, kind)
        path = tuple(msg.metadata.delta_path)
        run.elements.append((path, kind, proto))
        if run.watched_at is None and run.watch is not None and run.watch(kind, proto):
            run.watched_at = now
        if kind == "exception" and not proto.is_warning:
            run.exceptions.append(f"{proto.type}: {proto.message}")
        elif kind == "alert" and proto.format == Alert.ERROR:
            run.error_boxes.append(proto.body)
        elif kind == "imgs":
            run.media.extend(image.url for image in proto.imgs if image.url.startswith("/media/"))
        widget_id = getattr(proto, "id", "") if kind in VALUE_FIELD or kind in TRIGGERS else ""
        if not widget_id:
            return
        self._seen_ids.add(widget_id)
        self.widgets[widget_id] = Widget(
            widget_id, kind, proto.label, delta.fragment_id, proto, bool(proto.disabled)
        )
        if kind in VALUE_FIELD and (widget_id not in self.states or proto.set_value):
            state = _widget_value(kind, proto)
            if state is not None:
                self.states[widget_id] = state

    def _forget_stale(self, run: Run) -> None:
        """Drop widgets the run no longer drew (a fragment run: only that fragment's)."""
        ran = {run.fragment_id} if run.fragment_id else None
        if ran is not None:
            ran |= {w.fragment_id for i, w in self.widgets.items() if i in self._seen_ids}
        for widget_id, widget in list(self.widgets.items()):
            if widget_id in self._seen_ids or (ran is not None and widget.fragment_id not in ran):
                continue
            del self.widgets[widget_id]
            self.states.pop(widget_id, None)

    # ------------------------------------------------------------------ lookups
    def find(self, pattern: str, kind: str | None = None) -> list[Widget]:
        """Widgets on the page whose user key matches the regular expression ``pattern``."""
        regex = re.compile(pattern)
        return [
            w
            for w in self.widgets.values()
            if regex.fullmatch(w.key) and (kind is None or w.kind == kind)
        ]

    def value(self, widget: Widget):
        """The value the client holds for ``widget`` (what it sends with every rerun)."""
        state = self.states.get(widget.id)
        if state is None:
            return None
        value_field = VALUE_FIELD[widget.kind]
        value = getattr(state, value_field)
        return list(value.data) if value_field in (DOUBLES, STRINGS) else value
