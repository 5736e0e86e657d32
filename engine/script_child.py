"""The child process that runs analysts' code for engine.script_pool: `python -m engine.script_child`.

It is started once and reused. At start it lowers its own limits, where no script can raise them
again: address space (RLIMIT_AS, the memory cap above what the interpreter already uses), no core
files, few open files. Before each request it sets RLIMIT_CPU a little past the request's time
limit (the kernel kills it if nothing else does) and an interval timer that raises SandboxTimeout
at the limit (a clean answer, the child lives on). A script that catches that, or sits in one long
C call, is killed by the parent at its deadline, which the child does not control.

Requests and answers are pickles over stdin/stdout (length-prefixed, multiprocessing's framing):
request (kind, code, context, now, time limit) -> ("ok", value) | ("stopped", reason, limit) |
("error", exception type name, message). After running out of memory the child answers and exits,
so the next request gets a fresh one.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import sys
from datetime import datetime
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from engine.sandbox import Sandbox, SandboxTimeout, ScriptStopped, iso_helpers
from engine.script_data import measure, measure_all

_fired = False


def _vm_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def limit_self(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    cap = _vm_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _alarm(signum: int, frame: FrameType | None) -> None:
    global _fired
    _fired = True
    raise SandboxTimeout()


def _cpu_limit(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def _run(kind: str, code: str, context: dict[str, Any], now: datetime, limit: float) -> Any:
    sandbox = Sandbox(limit, iso_helpers(lambda: now), traced=False)
    if kind == "eval":
        value = sandbox.evaluate(code, context)
        measure(value)
        return value
    sandbox.execute(code, context)
    measure_all(context)
    return context


def answer(request: tuple[str, str, dict[str, Any], datetime, float]) -> tuple[Any, ...]:
    global _fired
    kind, code, context, now, limit = request
    _fired = False
    _cpu_limit(limit)
    try:
        # Inside the try: with the few microseconds an engine run's budget may leave, the alarm can
        # fire as setitimer returns, and its SandboxTimeout must be a timeout, not the child's death.
        signal.setitimer(signal.ITIMER_REAL, limit)
        value = _run(kind, code, context, now, limit)
        signal.setitimer(signal.ITIMER_REAL, 0)
        if _fired:  # the script caught its SandboxTimeout and carried on: it is still stopped
            raise SandboxTimeout()
        return ("ok", value)
    except ScriptStopped as err:
        return ("stopped", err.reason, err.limit)
    except MemoryError:
        return ("stopped", "script used too much memory", "memory")
    except RecursionError:
        return ("stopped", "script recursed too deep", "size")
    except Exception as err:
        return ("error", type(err).__name__, str(err)[:500])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def serve(requests: Connection, answers: Connection) -> None:
    while True:
        try:
            request = pickle.loads(requests.recv_bytes())
        except EOFError:
            return  # the parent went away
        reply = answer(request)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # a value pickle cannot carry (measure let only data through)
            data = pickle.dumps(("error", "SandboxError", f"the result cannot be returned: {err}"))
        answers.send_bytes(data)
        if reply[0] == "stopped" and reply[2] == "memory":
            return  # the heap may be a mess: a fresh child takes the next request


def main() -> None:
    memory_bytes = int(sys.argv[-1])
    requests = Connection(os.dup(0), readable=True, writable=False)
    answers = Connection(os.dup(1), readable=False, writable=True)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # nothing printed by accident can corrupt the answers
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the terminal is for the parent
    limit_self(memory_bytes)
    answers.send_bytes(pickle.dumps(("ready", os.getpid())))
    serve(requests, answers)


if __name__ == "__main__":
    main()
