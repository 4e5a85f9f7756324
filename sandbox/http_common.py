"""What both sandbox origins share: a threaded server that can be stopped cleanly, request
recording, JSON answers, and the fault kinds that look the same on every route."""
from __future__ import annotations

import ipaddress
import json
import socket
import socketserver
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .faults import Fault
from .request_log import HeaderDict, RecordedRequest

MAX_BODY_BYTES = 1 << 20


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, handler, state, origin: str):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.state = state
        self.origin = origin
        self.host = host          # as configured ("localhost" stays "localhost" in URLs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall on DNS; skip it
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:
        # a client hanging up mid-answer is normal here (timeouts, fault tests); anything else
        # is a sandbox bug and gets the usual traceback
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            (self._connections.add if alive else self._connections.discard)(connection)

    def close_connections(self) -> None:
        """Hang up idle keep-alive connections so their threads end with the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RunComfySandbox/1.0"
    timeout = 60     # idle keep-alive connections are closed after this
    record: RecordedRequest | None = None

    # --- plumbing -----------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        # As production HTTP servers do (nginx's tcp_nodelay): an answer goes out as headers,
        # then body, and with Nagle's algorithm on, the body waited for the client's delayed
        # ACK, 40 ms on Linux loopback, on every JSON answer of a finished job
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args) -> None:
        if getattr(self.server.state, "verbose", False):
            sys.stderr.write(f"[{self.server.origin}] {self.address_string()} {format % args}\n")

    def send_response(self, code: int, message: str | None = None) -> None:
        if self.record is not None:
            self.record.status = code
        super().send_response(code, message)

    @property
    def url_path(self) -> str:
        return urlsplit(self.path).path

    @property
    def url_query(self) -> str:
        return urlsplit(self.path).query

    def public_host(self) -> str:
        """Host to put in URLs we hand out: the bound one, or the one the client used when
        bound to every interface."""
        host = self.server.host
        if host in ("0.0.0.0", "::", ""):
            asked = urlsplit(f"//{self.headers.get('Host', '')}").hostname
            return asked or "127.0.0.1"
        return host

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ValueError(f"body too large ({length} bytes)")
        return self.rfile.read(length) if length > 0 else b""

    def start_record(self, body: bytes) -> RecordedRequest:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        headers = HeaderDict()
        for name, value in self.headers.items():
            headers[name] = value
        parts = urlsplit(self.path)
        self.record = RecordedRequest(origin=self.server.origin, method=self.command,
                                      path=parts.path, query=parts.query, headers=headers,
                                      json=parsed, body=body, time=time.monotonic(),
                                      wall_time=time.time(),
                                      client=self.client_address[0])
        return self.server.state.log.add(self.record)

    # --- answers ------------------------------------------------------------------------------
    def send_bytes(self, status: int, data: bytes, content_type: str,
                   headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status: int, payload, headers: dict | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def send_api_error(self, status: int, code: int, message: str, detail=None,
                       headers: dict | None = None) -> None:
        payload = {"error_code": code, "error_message": message}
        if detail is not None:
            payload["detail"] = detail
        self.send_json(status, payload, headers)

    def drop(self) -> None:
        """Hang up without answering (the client sees the connection closed, no status)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def answer_fault(self, fault: Fault) -> bool:
        """Act out the fault kinds that replace the answer. True if the request is done."""
        kind = fault.kind
        if kind == "drop":
            self.drop()
        elif kind == "http_429":
            self.send_api_error(429, 429, "Too many requests (sandbox fault)",
                                headers={"Retry-After": _seconds(fault.param("retry_after", 1))})
        elif kind == "http_500":
            self.send_api_error(500, 500001, "Internal server error (sandbox fault)")
        elif kind == "http_502":
            # gateways answer with their own HTML page, not the API's JSON
            self.send_bytes(502, b"<html><head><title>502 Bad Gateway</title></head><body>"
                                 b"<center><h1>502 Bad Gateway</h1></center></body></html>",
                            "text/html")
        elif kind == "http_503":
            extra = ({"Retry-After": _seconds(fault.params["retry_after"])}
                     if "retry_after" in fault.params else None)
            self.send_api_error(503, 500001, "Service unavailable (sandbox fault)", headers=extra)
        elif kind == "malformed_json":
            self.send_bytes(200, b'{"request_id": "broken", "status": ', "application/json")
        elif kind == "echo_token":
            self.send_echoed_token(int(fault.param("status", 401)), fault.param("body", "json"))
        elif kind == "error_code_200":
            self.send_json(200, {"error_code": 500001,
                                 "error_message": "Internal error reported with HTTP 200 "
                                                  "(sandbox fault)"})
        else:
            return False
        return True

    def send_echoed_token(self, status: int, body: str) -> None:
        """An error answer that repeats the request's Authorization header in its body."""
        echoed = self.headers.get("Authorization") or ""
        reason = _reason(status)
        if body == "html":
            self.send_bytes(status, (f"<html><head><title>{status} {reason}</title></head><body>"
                                     f"<center><h1>{status} {reason}</h1></center>"
                                     f"<p>Request headers: Authorization: {echoed}</p>"
                                     f"</body></html>").encode(), "text/html")
        elif body == "text":
            self.send_bytes(status, f"{status} {reason}\nAuthorization: {echoed}\n".encode(),
                            "text/plain")
        else:
            code = _ECHO_CODES.get(status, 500001 if status >= 500 else status)
            detail = None
            if status == 422:
                detail = [{"field": "Authorization", "message": f"{echoed} is not accepted"}]
            self.send_api_error(status, code, f"{reason}: rejected Authorization '{echoed}'",
                                detail)


#: error_code of an echo_token JSON answer by HTTP status
_ECHO_CODES = {400: 400001, 401: 400004, 402: 400002, 403: 403001, 404: 404001, 422: 422001,
               429: 429}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _seconds(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
