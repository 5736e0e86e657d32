"""Child processes that run analysts' code where it cannot hold the worker (engine.script_child).

A pool per worker process keeps up to `size` children alive and reuses them: a call checks one
out, sends the request, and waits for the answer until the time limit plus GRACE. A child that has
not answered by then is killed (SIGKILL: nothing in it can stop that) and forgotten, and a fresh
one is started in the background for the next call; the caller gets SandboxTimeout. A child that
died (the kernel's RLIMIT_CPU, a crash) or ran out of memory is replaced the same way.

Children are started with `python -c` (not fork: the worker has threads and database sockets), with
an environment of their own (no credentials) and no inherited file descriptors. After a fork of
the worker (a server's preloading master), the forked process starts children of its own.
"""

from __future__ import annotations

import builtins
import io
import logging
import os
import pickle
import subprocess
import sys
import threading
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engine.sandbox import SandboxError, SandboxTimeout, ScriptStopped

log = logging.getLogger(__name__)
GRACE = 0.5  # seconds past the limit before the kill: the child's own timer answers first
START_TIMEOUT = 30.0  # a new child under heavy load
_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from engine.script_child import main; main()"
_MAX_ANSWER = 256 * 1024 * 1024
_ANSWER_CLASSES = {("datetime", n) for n in ("date", "datetime", "time", "timedelta", "timezone")}


class _AnswerUnpickler(pickle.Unpickler):
    """Only data and dates from a child: a child that ran hostile code cannot make us run any."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ANSWER_CLASSES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not data")


def _rebuild(type_name: str, message: str) -> Exception:
    """The script's error as the same builtin exception type (SpiffWorkflow's messages name it)."""
    found = getattr(builtins, type_name, None)
    if isinstance(found, type) and issubclass(found, Exception) and not issubclass(found, Warning):
        try:
            error: Exception = found(message)
            return error
        except Exception:  # a builtin exception that wants other arguments
            pass
    return SandboxError(f"{type_name}: {message}" if type_name != "SandboxError" else message)


class Child:
    def __init__(self, memory_bytes: int) -> None:
        req_r, req_w = os.pipe()
        ans_r, ans_w = os.pipe()
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-c", _BOOT, _ROOT, str(memory_bytes)],
                stdin=req_r,
                stdout=ans_w,
                env=env,
                close_fds=True,
                start_new_session=True,  # the terminal's Ctrl-C is the worker's to handle
            )
        finally:
            os.close(req_r)
            os.close(ans_w)
        self.requests = Connection(req_w, readable=False)
        self.answers = Connection(ans_r, writable=False)
        try:
            if not self.answers.poll(START_TIMEOUT):
                raise EOFError
            self.answers.recv_bytes()  # ("ready", pid)
        except (EOFError, OSError) as err:
            self.kill()
            raise SandboxError("the sandbox process did not start") from err

    def call(self, request: bytes, wait: float) -> tuple[Any, ...]:
        """The child's answer; SandboxTimeout (child killed) or ScriptStopped (child died)."""
        try:
            self.requests.send_bytes(request)
            if not self.answers.poll(wait):
                self.kill()
                raise SandboxTimeout()
            answer: tuple[Any, ...] = _AnswerUnpickler(io.BytesIO(self.answers.recv_bytes(_MAX_ANSWER))).load()
        except (EOFError, OSError, pickle.UnpicklingError) as err:
            self.kill()
            raise ScriptStopped("the script's process died (memory or CPU limit)", limit="memory") from err
        return answer

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie the kernel will reap
            log.warning("sandbox child %s did not exit after SIGKILL", self.proc.pid)
        self.requests.close()
        self.answers.close()


class ScriptPool:
    """Up to `size` reusable children with the same memory cap; thread-safe."""

    def __init__(self, memory_bytes: int, size: int = 4) -> None:
        self.memory_bytes = memory_bytes
        self.size = size
        self._lock = threading.Condition()
        self._idle: list[Child] = []
        self._count = 0  # children alive or starting, idle or busy
        self._pid = os.getpid()

    def run(
        self, kind: str, code: str, context: dict[str, Any], now: datetime, limit: float, wait: float | None = None
    ) -> Any:
        """Evaluate ("eval") or execute ("exec") `code` in a child; raises what the code raised,
        SandboxTimeout after `limit` seconds, ScriptStopped when a limit stopped it. A call waits
        up to `wait` seconds (default `limit`) for a child when all `size` are busy."""
        try:
            request = pickle.dumps((kind, code, context, now, limit), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            raise SandboxError(f"the task data cannot be handed to the sandbox: {err}") from err
        child = self._checkout(limit if wait is None else wait)
        healthy = False
        try:
            answer = child.call(request, limit + GRACE)
            # After running out of memory the child exits by itself: never hand it out again.
            out_of_memory = answer[0] == "stopped" and answer[2] == "memory"
            healthy = child.alive and not out_of_memory
        finally:
            self._checkin(child, healthy=healthy)
        if answer[0] == "ok":
            return answer[1]
        if answer[0] == "stopped":
            cls = SandboxTimeout if answer[2] == "time" else ScriptStopped
            raise cls(answer[1], limit=answer[2])
        raise _rebuild(answer[1], answer[2])

    def _checkout(self, wait: float) -> Child:
        with self._lock:
            if self._pid != os.getpid():  # forked: the children are the parent process's
                self._idle, self._count, self._pid = [], 0, os.getpid()
            if not self._idle and self._count >= self.size:
                self._lock.wait_for(lambda: bool(self._idle) or self._count < self.size, timeout=wait)
            if self._idle:
                return self._idle.pop()
            if self._count >= self.size:
                raise SandboxTimeout("every sandbox process is busy")
            self._count += 1
        try:
            return Child(self.memory_bytes)
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise

    def _checkin(self, child: Child, *, healthy: bool) -> None:
        if healthy:
            with self._lock:
                self._idle.append(child)
                self._lock.notify()
            return
        child.kill()  # its slot in _count passes to the replacement, so no caller starts a second one
        threading.Thread(target=self._replace, name="sandbox-respawn", daemon=True).start()

    def _replace(self) -> None:
        try:
            child: Child | None = Child(self.memory_bytes)
        except Exception:
            log.exception("could not start a sandbox process; the next call starts one")
            child = None
        with self._lock:
            if child is None:
                self._count -= 1
            else:
                self._idle.append(child)
            self._lock.notify()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for child in idle:
            child.kill()


_POOLS: dict[int, ScriptPool] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(memory_bytes: int) -> ScriptPool:
    """The worker process's pool for this memory cap (engines of one process share it)."""
    with _POOLS_LOCK:
        pool = _POOLS.get(memory_bytes)
        if pool is None:
            # Started on demand (most processes' code never needs one); more than the cores, so a
            # few stubborn scripts waiting for their kill do not make every other call wait.
            pool = _POOLS[memory_bytes] = ScriptPool(memory_bytes, size=max(8, 2 * (os.cpu_count() or 1)))
        return pool
