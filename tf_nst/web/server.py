"""The web app's server: uvicorn on 127.0.0.1, on a given port or a free one, until Ctrl-C (``serve_forever``),
or in a background thread (``running``, for tests and notebooks)."""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Iterator

import uvicorn

from tf_nst.config import StyleTransferConfig
from tf_nst.web.app import create_app

HOST = "127.0.0.1"  # only this machine: the app has no accounts and runs what it is sent
GRACE = 5  # seconds open connections get to finish when the server stops


class Server(uvicorn.Server):
    """uvicorn's server that also sets ``closing`` as soon as it is told to stop, so the app's event streams end
    and its running job stops at once instead of holding the shutdown."""

    def __init__(self, config: uvicorn.Config, closing: threading.Event):
        super().__init__(config)
        self.closing = closing

    def handle_exit(self, sig, frame) -> None:
        self.closing.set()
        super().handle_exit(sig, frame)

    def stop(self) -> None:
        self.closing.set()
        self.should_exit = True


def listening_socket(port: int) -> socket.socket:
    """A socket listening on ``HOST``:``port`` (0: a free port the system picks)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        from tf_nst.errors import UsageError

        raise UsageError(f"--port={port}: cannot listen on {HOST}:{port} ({err.strerror})") from None
    sock.listen(128)
    return sock


def make_server(config: StyleTransferConfig, preview_seconds: float = 2.0) -> Server:
    closing = threading.Event()
    app = create_app(config, preview_seconds, closing)
    settings = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE, access_log=False)
    return Server(settings, closing)


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve_forever(config: StyleTransferConfig, port: int = 0, preview_seconds: float = 2.0) -> None:
    """Serve on ``HOST``:``port``, print the address, open nothing; return when Ctrl-C (or SIGTERM) stops it,
    after the running job stopped and the uploads were removed."""
    sock = listening_socket(port)
    server = make_server(config, preview_seconds)
    signal.signal(signal.SIGTERM, _interrupt)  # uvicorn handles it, then raises it again: end as on Ctrl-C
    print(f"tf_nst: the web app is at {address(sock)} (Ctrl-C stops it)", flush=True)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the signal it handled again once it has stopped
        pass
    finally:
        sock.close()
    print("tf_nst: the web app stopped", file=sys.stderr, flush=True)


@contextlib.contextmanager
def running(config: StyleTransferConfig, port: int = 0, preview_seconds: float = 2.0) -> Iterator[str]:
    """The app served from a background thread while the block runs; yields its address."""
    sock = listening_socket(port)
    server = make_server(config, preview_seconds)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="tf_nst-web", daemon=True)
    thread.start()
    try:
        yield address(sock)
    finally:
        server.stop()
        thread.join(60)
        sock.close()
