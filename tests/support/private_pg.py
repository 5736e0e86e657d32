"""A PostgreSQL cluster of a test's own (Debian's pg_createcluster on a private port), which the
test stops and starts to play an outage; never the shared server. Dropped afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text


def _version() -> str | None:
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").glob("*") if (p / "bin" / "postgres").exists()), key=int
    )
    return versions[-1] if versions else None


def need_private_cluster() -> None:
    """Skip (fail under CI=true) where a cluster cannot be made: no pg_createcluster, or not root."""
    why = None
    if shutil.which("pg_createcluster") is None or _version() is None:
        why = "pg_createcluster (Debian postgresql-common) and a PostgreSQL server are needed"
    elif os.geteuid() != 0:
        why = "making a private PostgreSQL cluster with pg_createcluster needs root"
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why}, and CI=true requires the fault test")
        pytest.skip(why)


class PrivatePostgres:
    def __init__(self, port: int) -> None:
        self.port = port
        self.version = _version() or ""
        self.name = f"liftcase_{port}_{os.getpid()}"
        self.data = Path(f"/var/lib/postgresql/{self.version}/{self.name}")
        self.admin_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def create(self) -> None:
        options = ["listen_addresses=localhost", "fsync=off", "synchronous_commit=off", "max_connections=60"]
        cmd = ["pg_createcluster", "--start-conf=manual", "-p", str(self.port)]
        for option in options:
            cmd += ["-o", option]
        cmd += [self.version, self.name, "--", "--auth=trust"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.start()

    def start(self) -> None:
        subprocess.run(["pg_ctlcluster", self.version, self.name, "start"], check=True)
        deadline = time.monotonic() + 30
        while not self.accepting():
            if time.monotonic() > deadline:
                raise RuntimeError(f"private PostgreSQL on {self.port} did not come up")
            time.sleep(0.05)

    def stop(self) -> None:
        """A fast shutdown, by the postmaster's PID (its own pid file)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def accepting(self) -> bool:
        engine = create_engine(self.admin_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False
        finally:
            engine.dispose()

    def database(self, name: str) -> str:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
