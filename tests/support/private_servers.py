"""A private Redis for fault tests (PostgreSQL's: tests/support/private_pg.py): started by the test
on a port of its own, stopped and started again at will, by its pid; the shared Redis is never
touched. Also: a slow notification gateway (a real local HTTP endpoint) and `liftcase` child
processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from connectors.notify.gateway import DEDUPE_HEADER

ROOT = Path(__file__).resolve().parents[2]


def _wait_port(port: int, up: bool, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not go {'up' if up else 'down'} in {seconds}s")


class PrivateRedis:
    """`redis-server --save "" --appendonly no` on `port`. `stop()` saves a snapshot first (SHUTDOWN
    SAVE), as a deployed Redis with persistence keeps its queues over a restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="liftcase-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> PrivateRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--dbfilename", "dump.rdb"],
            stdout=(self.dir / "log").open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_port(self.port, up=True)
        return self

    def stop(self) -> None:
        from redis import Redis

        if self.proc is None:
            return
        try:
            Redis(port=self.port, socket_timeout=5).shutdown(save=True)
        except Exception:  # the connection closes as it shuts down
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        _wait_port(self.port, up=False)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


class SlowGateway:
    """An SMS gateway that takes `latency` seconds per message and counts each notice it got."""

    def __init__(self, latency: float) -> None:
        self.received: Counter[str] = Counter()  # answered, by notice (dedupe key)
        self.arrived = 0  # requests that came in, answered or not yet
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.arrived += 1
                time.sleep(latency)
                with outer.lock:
                    outer.received[self.headers.get(DEDUPE_HEADER, "")] += 1
                body = b'{"errcode":0}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def count(self) -> int:
        with self.lock:
            return sum(self.received.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def spawn_module(module: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m module args` from the tree (its output to `log`), stopped by the caller by pid."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def spawn_liftcase(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A `liftcase ...` child process."""
    return spawn_module("liftcase.cli", args, env, log)


def stop_process(proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
