"""A real HTTP server on 127.0.0.1 serving a mirror folder, with scripted faults.

It plays the national servers in tests: files are served as `http.server` does
(with `Last-Modified` and HTTP 304 on `If-Modified-Since`), and a test can script
the next answers for a path (an HTTP 500, a 429 with `Retry-After`, an HTML page…).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


@dataclass
class Scripted:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    announced_length: int | None = None  # larger than the body: the transfer is cut short


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float
    method: str = "GET"


class MirrorServer:
    def __init__(self, root: Path):
        self.root = root
        self.scripts: dict[str, list[Scripted]] = {}
        self.requests: list[Seen] = []
        handler = partial(_Handler, self, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def script(self, relative_path: str, *answers: Scripted) -> None:
        """Answer the next requests for `relative_path` (mirror-relative) with `answers`."""
        self.scripts.setdefault(relative_path, []).extend(answers)

    def seen(self, fragment: str) -> list[Seen]:
        return [request for request in self.requests if fragment in request.path]

    def __enter__(self) -> MirrorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, server_state: MirrorServer, *args, **kwargs):
        self.state = server_state
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        if not self._scripted():
            super().do_GET()

    def do_POST(self) -> None:
        """Scripted answers only; otherwise 201 and an empty JSON object (body read)."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._scripted():
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    def _scripted(self) -> bool:
        relative = unquote(self.path.split("?", 1)[0]).lstrip("/")
        seen = Seen(relative, dict(self.headers), time.monotonic(), self.command)
        self.state.requests.append(seen)
        queue = self.state.scripts.get(relative)
        if not queue:
            return False
        answer = queue.pop(0)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(answer.announced_length or len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        if answer.announced_length:
            self.close_connection = True
        return True

    def log_message(self, *args) -> None:
        pass
