"""A real HTTP receiver for the outbound feed (a thread server on a private port): it checks each
request's signature the way an integrator would (README), records what arrived, and answers as
its `answer` function says: "ok" (200), "fail" (500), "slow" (takes the event, answers after the
sender's timeout) or "drop" (closes the connection unanswered)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Arrival:
    event_id: str
    body: dict[str, Any]
    answer: str
    signed_ok: bool
    attempt: int
    at: float


@dataclass
class Receiver:
    secret: str
    port: int
    answer: Callable[[dict[str, Any], int], str] = lambda body, n: "ok"  # (event, nth arrival of it)
    slow_seconds: float = 1.0
    arrivals: list[Arrival] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-Liftcase-Timestamp", "")
                sent = self.headers.get("X-Liftcase-Signature", "")
                # The integrator's check, written from the README, not from our code.
                expected = (
                    "sha256="
                    + hmac.new(receiver.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
                )
                body = json.loads(raw)
                with receiver._lock:
                    n = receiver._counts[body["event_id"]] = receiver._counts.get(body["event_id"], 0) + 1
                    what = receiver.answer(body, n)
                    receiver.arrivals.append(
                        Arrival(
                            body["event_id"],
                            body,
                            what,
                            hmac.compare_digest(expected, sent),
                            int(self.headers.get("X-Liftcase-Attempt", "0")),
                            time.time(),
                        )
                    )
                if what == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if what == "slow":
                    time.sleep(receiver.slow_seconds)
                self.send_response(500 if what == "fail" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops concurrent connects: 1 s SYN retries

        self.server = Server(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/liftcase-feed"

    def taken(self) -> list[Arrival]:
        """Arrivals the receiver kept: answered 200, or taken and answered too late ("slow")."""
        with self._lock:
            return [a for a in self.arrivals if a.answer in ("ok", "slow")]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
