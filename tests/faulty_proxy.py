"""A reverse proxy on 127.0.0.1 in front of the test udata, that can fail on purpose.

A rule answers an error (HTTP 502 unless told otherwise, with the headers it is given,
e.g. a 429 with `Retry-After`) for matching requests, either without forwarding them
(the request was lost, or refused as too many) or after forwarding them (the server
did the work, the answer was lost): the second kind is what leaves duplicates behind a
naive retry. Every request is recorded with the time it arrived.

A rule may also run `then` when it strikes (after forwarding, if it forwards): e.g. kill
the publishing process (kill -9) at a known point, the platform having done the work;
and `echo` the request's headers in its answer, as the error page of a misconfigured
gateway does (a secret sent in a header must not reach any message).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


@dataclass
class Fault:
    method: str
    path: str  # a regular expression on the path
    times: int = 1
    after_forwarding: bool = False
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    skip: int = 0  # matching requests let through before the first failure
    then: Callable[[], None] | None = None  # run when it strikes, before answering
    echo: bool = False  # the answer's body repeats the request line and headers


class FaultyProxy:
    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.arrivals: list[tuple[str, str, float]] = []  # method, path, time.monotonic()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                proxy.handle(self)

            do_POST = do_PUT = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def fail(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests if m in {"POST", "PUT", "DELETE"}]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path
        fault = self._fault_for(handler.command, path)
        with self.lock:
            self.requests.append((handler.command, path.split("?")[0]))
            self.arrivals.append((handler.command, path.split("?")[0], time.monotonic()))
        if fault is None or fault.after_forwarding:
            headers = {
                k: v
                for k, v in handler.headers.items()
                if k.lower() not in {"host", "content-length"}
            }
            answer = requests.request(
                handler.command, self.upstream + path, data=body, headers=headers, timeout=60
            )
        if fault is not None:
            if fault.then is not None:
                fault.then()
            body = f"<html><body>{fault.status} erreur simulée</body></html>".encode()
            if fault.echo:
                received = "".join(f"{k}: {v}\n" for k, v in handler.headers.items())
                body = f"{fault.status} {handler.command} {path}\n{received}".encode()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client killed
                self._send(handler, fault.status, body, "text/html", fault.headers)
            return
        self._send(
            handler, answer.status_code, answer.content, answer.headers.get("Content-Type", "")
        )

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times and fault.method == method and re.search(fault.path, path):
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    return fault
        return None

    @staticmethod
    def _send(
        handler, status: int, body: bytes, content_type: str, headers: dict | None = None
    ) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
