"""A real HTTP server on loopback for REST client tests, answering each GET with a function."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# request path (with query) -> (status, extra headers, JSON body)
Answer = Callable[[str], tuple[int, dict[str, str], bytes]]


@contextmanager
def loopback_http(answer: Answer) -> Iterator[str]:
    """Serve ``answer`` on 127.0.0.1; yields the base URL of Kalshi's REST API there."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a thousand pages stay quick
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def do_GET(self) -> None:
            status, headers, body = answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/trade-api/v2"
    finally:
        server.shutdown()
        server.server_close()
