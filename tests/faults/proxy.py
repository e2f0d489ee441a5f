"""A fault-injecting HTTP proxy of the tests' own, between the operator and the AWS endpoint.

Modes: ``pass``; ``down`` (every connection is closed without an answer, as when AWS is
unreachable); ``throttle`` (a share of calls answers the service's own throttling error:
SlowDown for S3, ThrottlingException for JSON services, Throttling for query services, and
OperationAborted for S3 policy writes). Loopback only; it stops with the test.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


@dataclass
class FaultProxy:
    upstream: str
    mode: str = "pass"
    share: float = 0.0
    seed: int = 7
    counts: dict[str, int] = field(default_factory=lambda: {"passed": 0, "dropped": 0, "throttled": 0})
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set(self, mode: str, share: float = 0.0) -> None:
        with self._lock:
            self.mode, self.share = mode, share

    def start(self) -> FaultProxy:
        proxy = self
        rng = random.Random(self.seed)
        target = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _count(self, what: str) -> None:
                with proxy._lock:
                    proxy.counts[what] += 1

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    mode, share = proxy.mode, proxy.share
                    roll = rng.random()
                if mode == "down":
                    self._count("dropped")
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "throttle" and roll < share:
                    self._count("throttled")
                    self._throttle()
                    return
                self._count("passed")
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in _HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def _throttle(self) -> None:
                m = _SERVICE.search(self.headers.get("Authorization", ""))
                service = m.group(1) if m else "s3"
                if service == "s3":
                    code = (
                        "OperationAborted" if self.command == "PUT" and "policy" in self.path else "SlowDown"
                    )
                    status = 409 if code == "OperationAborted" else 503
                    data = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
                    ctype = "application/xml"
                elif service in ("kms", "organizations"):
                    status, ctype = 400, "application/x-amz-json-1.1"
                    data = b'{"__type":"ThrottlingException","message":"Rate exceeded (injected)"}'
                else:
                    status, ctype = 400, "text/xml"
                    data = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected)</Message></Error></ErrorResponse>"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
