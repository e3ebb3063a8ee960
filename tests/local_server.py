"""Outside parties (gateways, carriers, SMS providers) played on a real HTTP server on a free local port."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# respond(method, path, headers, body) -> (status, payload, extra response headers)
Responder = Callable[[str, str, object, bytes], tuple[int, bytes, dict[str, str]]]


@contextmanager
def serving(respond: Responder) -> Iterator[str]:
    """Answer every request with `respond` until the block ends; yields the server's base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload, headers = respond(self.command, self.path, self.headers, body)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json;charset=utf-8", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _handle

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
