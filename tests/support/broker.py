"""A private Mosquitto with the shipped config (connectors/mqtt/mosquitto.conf) on a free port: its
password file and ACL in a directory of its own, stopped by its pid. Tests and benchmarks use it;
the shared broker on 1883 is never touched."""

from __future__ import annotations

import grp
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BROKER_CONF = ROOT / "connectors" / "mqtt" / "mosquitto.conf"
INGEST_USER = "liftcase-ingest"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _broker_group_dir() -> Path:
    """A directory the broker can read and write: started as root, Mosquitto drops to the
    `mosquitto` user, which must reach its password file, ACL and persistence file."""
    path = Path(tempfile.mkdtemp(prefix="liftcase-mqtt-"))
    if os.geteuid() == 0:
        try:
            gid = grp.getgrnam("mosquitto").gr_gid
        except KeyError:
            return path
        os.chown(path, 0, gid)
        path.chmod(0o770)
    return path


class PrivateBroker:
    """Write the accounts first (`settings` points at this broker's files), then `start()`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = _broker_group_dir()
        self.password_file = self.dir / "passwd"
        self.acl_file = self.dir / "acl"
        self.ingest_password = secrets.token_urlsafe(16)
        self.proc: subprocess.Popen[bytes] | None = None

    def settings(self) -> dict[str, Any]:
        """The Settings fields that make `liftcase broker` write this broker's files and the ingest sign in."""
        return {
            "mqtt_username": INGEST_USER,
            "mqtt_password": self.ingest_password,
            "mqtt_password_file": self.password_file,
            "mqtt_acl_file": self.acl_file,
        }

    def config(self) -> str:
        text = BROKER_CONF.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^password_file .*$", f"password_file {self.password_file}", text)
        text = re.sub(r"(?m)^acl_file .*$", f"acl_file {self.acl_file}", text)
        local = f"listener {self.port} 127.0.0.1\npersistence_location {self.dir}/\nlog_dest file {self.dir}/log\n"
        return f"{text}\n{local}"

    def start(self) -> PrivateBroker:
        conf = self.dir / "mosquitto.conf"
        conf.write_text(self.config(), encoding="utf-8")
        self.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"private mosquitto exited: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"private mosquitto did not start: {self.log()}")

    def reload(self) -> None:
        """SIGHUP: read the password file and ACL again."""
        assert self.proc is not None
        before = self.log().count("Reloading config")
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.log().count("Reloading config") == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the files are read right after the line is logged

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
