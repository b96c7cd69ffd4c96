"""A real HTTP proxy in front of a real HQ that changes HQ's JSON answers on the way back, as a broken proxy or
middlebox would: for tests of what the kiosk does with answers a real HQ never gives."""
from __future__ import annotations

import contextlib
import http.server
import json
import threading
import urllib.error
import urllib.request
from typing import Callable, Iterator

# (the request's path, HQ's answer) -> the answer the kiosk gets
Rewrite = Callable[[str, dict], dict]


@contextlib.contextmanager
def rewriting_proxy(hq_url: str, rewrite: Rewrite) -> Iterator[str]:
    """The proxy's address, while it runs (on a free port of loopback)."""
    class Proxy(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            req = urllib.request.Request(hq_url + self.path, data=body, method=self.command, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    status, answer, kind = resp.status, resp.read(), resp.headers.get("Content-Type", "")
            except urllib.error.HTTPError as exc:
                status, answer, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
            if "json" in kind:
                answer = json.dumps(rewrite(self.path.split("?")[0], json.loads(answer))).encode()
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/octet-stream")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = _forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
