"""A file host on 127.0.0.1 whose answers follow a script, for the download tests
(test_download.py imports the ``origin`` fixture)."""
from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PAYLOAD = bytes(range(256)) * 4096 + b"tail"   # 1 MiB + 4 bytes, every offset distinguishable
ETAG = '"v1-' + hashlib.sha1(PAYLOAD).hexdigest()[:12] + '"'


class FileOrigin:
    """A storage host whose next answers follow a script: each request pops one plan."""

    def __init__(self, payload: bytes = PAYLOAD):
        self.payload = payload
        self.plans: list[dict] = []
        self.seen: list[dict] = []   # method, path, headers, status, sent bytes per request
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                origin.answer(self)

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass   # the client hung up, as a client refusing a file does

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/files/req-1/video.mp4?sig=secret"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        plan = self.plans.pop(0) if self.plans else {}
        record = {"path": handler.path, "headers": dict(handler.headers), "status": None, "sent": 0}
        self.seen.append(record)
        kind = plan.get("kind", "file")
        if kind == "status":
            body = plan.get("body", b"nope")
            record["status"] = plan["status"]
            handler.send_response(plan["status"])
            for name, value in plan.get("headers", {}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", plan.get("type", "text/plain"))
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        if kind == "redirect":
            record["status"] = 302
            handler.send_response(302)
            handler.send_header("Location", plan["to"])
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return

        data, start = self.payload, 0
        range_header = handler.headers.get("Range")
        use_range = range_header and not plan.get("ignore_range") and (
            handler.headers.get("If-Range") in (None, ETAG))
        if use_range:
            start = int(range_header.split("=")[1].split("-")[0])
            data = self.payload[start:]
        record["status"] = 206 if use_range else 200
        handler.send_response(record["status"])
        handler.send_header("Content-Type", plan.get("type", "video/mp4"))
        handler.send_header("ETag", ETAG)
        handler.send_header("Accept-Ranges", "bytes")
        if use_range:
            handler.send_header("Content-Range", f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}")
        if plan.get("chunked"):
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(plan.get("length", len(data))))
        handler.end_headers()
        to_send = data[: int(len(data) * plan["fraction"])] if "fraction" in plan else data
        try:
            if plan.get("chunked"):
                for offset in range(0, len(to_send), 65536):
                    piece = to_send[offset:offset + 65536]
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    record["sent"] += len(piece)
                handler.wfile.write(b"0\r\n\r\n")
            else:
                for offset in range(0, len(to_send), 65536):
                    handler.wfile.write(to_send[offset:offset + 65536])
                    record["sent"] += len(to_send[offset:offset + 65536])
                    if plan.get("delay"):
                        time.sleep(plan["delay"])
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
            return
        if "fraction" in plan:
            handler.wfile.flush()
            handler.close_connection = True   # promised more than it sent: a truncated transfer


@pytest.fixture
def origin():
    server = FileOrigin()
    yield server
    server.close()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())
