"""Run an ASGI app with uvicorn in a background thread on a free port (tests and benchmarks)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import uvicorn


@contextmanager
def running(app, **options):
    """`options` go to uvicorn (e.g. ssl_certfile and ssl_keyfile for HTTPS)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws_max_size=4 * 1024 * 1024,
                            lifespan="off", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
