"""A small HTTP server on a free loopback port for the FHIR client's unit tests: it answers each request from a
function of (method, path) and records what it was sent, so a test sees the client's real requests on a real socket
(the headers a FHIR server would act on) and its handling of answers the sandbox never gives (HAPI's 409)."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = tuple[int, dict]  # status, JSON body
Answers = Callable[[str, str], Answer]  # (method, path with query) -> answer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class RecordingServer:
    base_url: str
    requests: list[Recorded] = field(default_factory=list)


@contextmanager
def recording_server(answers: Answers) -> Iterator[RecordingServer]:
    recorder = RecordingServer("")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
            status, body = answers(self.command, self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = _answer

        def log_message(self, *args: object) -> None:  # quiet: the test reads ``requests``
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.base_url = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
