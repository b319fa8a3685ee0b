"""ui.no_delay: through a real uvicorn server, a websocket's socket gets TCP_NODELAY.

The listening socket is made as Streamlit 1.67 makes it (``socket.socket(family=...)``,
protocol 0), for which asyncio leaves Nagle's algorithm on: the bare app shows that.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import uvicorn
import websockets

from ui.no_delay import NoDelay, connection_socket, set_no_delay


async def reports_no_delay(scope, receive, send) -> None:
    """A websocket app that answers with its connection's TCP_NODELAY, as text."""
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    sock = connection_socket(send)
    value = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    await send({"type": "websocket.send", "text": str(value)})
    await send({"type": "websocket.close"})


@contextlib.contextmanager
def serving(app):
    listening = socket.socket(family=socket.AF_INET)  # as Streamlit makes it: protocol 0
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    config = uvicorn.Config(app, ws="websockets-sansio", log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[listening])))
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listening.close()


async def asked(url: str) -> str:
    async with websockets.connect(url) as connection:
        return await connection.recv()


def test_a_websocket_through_the_middleware_sends_without_delay():
    with serving(NoDelay(reports_no_delay)) as url:
        assert asyncio.run(asked(url)) != "0"


def test_without_it_nagle_stays_on_for_a_socket_made_as_streamlit_makes_it():
    with serving(reports_no_delay) as url:
        assert asyncio.run(asked(url)) == "0"


def test_a_send_without_a_connection_behind_it_is_left_alone():
    async def send(message):
        return None

    assert connection_socket(send) is None
    assert set_no_delay(send) is False


def test_other_requests_pass_through_unchanged():
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["type"], receive, send))

    receive, send = object(), object()
    asyncio.run(NoDelay(app)({"type": "http"}, receive, send))
    assert seen == [("http", receive, send)]
