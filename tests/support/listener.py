"""A port on loopback that records whatever connects to it: where a leaked token or a phished form
would arrive. It answers nothing."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager


class Listener:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")


@contextmanager
def listening():
    listener = Listener()
    listener.thread.start()
    try:
        yield listener
    finally:
        listener.stop.set()
        listener.thread.join(2)
        listener.sock.close()
