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

from tests.support.services import xdist_worker

ROOT = Path(__file__).resolve().parents[2]
BROKER_CONF = ROOT / "connectors" / "mqtt" / "mosquitto.conf"
INGEST_USER = "liftcase-ingest"


def free_port(ports: range | None = None) -> int:
    """Any free port, or the first free one of `ports` (a helper's own range, LIFTCASE_TEST_PORTS)."""
    for port in ports or (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in {ports}")


def free_ports(n: int) -> list[int]:
    """`n` distinct free ports (in LIFTCASE_TEST_PORTS when set): held together while chosen, so two
    runs of a fault test on one machine never share a private server's port."""
    held: list[socket.socket] = []
    try:
        for port in test_ports() or [0] * n:
            if len(held) == n:
                break
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            held.append(s)
        if len(held) < n:
            raise RuntimeError(f"fewer than {n} free ports in {test_ports()}")
        return [int(s.getsockname()[1]) for s in held]
    finally:
        for s in held:
            s.close()


def test_ports() -> range | None:
    """LIFTCASE_TEST_PORTS=7400-7499: private instances of one test run stay in that range, each
    xdist worker in its own slice of it (two workers never race for one port)."""
    spec = os.environ.get("LIFTCASE_TEST_PORTS")
    if not spec:
        return None
    low, high = (int(x) for x in spec.split("-"))
    index, count = xdist_worker()
    size = (high + 1 - low) // count
    return range(low + index * size, low + (index + 1) * size)


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

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port(test_ports())
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

    def stop(self) -> None:
        """SIGTERM: the broker saves its sessions and queued messages (persistence) and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down `down_s`, start again on the same port with the same persistence file."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class FleetBroker(PrivateBroker):
    """A private broker with the ingest's account and one publisher allowed every box's topics (one
    connection publishes a whole simulated city; the ACL is still checked on every message).
    Started on construction."""

    PUBLISHER = "bench-publisher"

    def __init__(self, port: int | None = None) -> None:
        from connectors.mqtt.credentials import ACL_TEMPLATE, mosquitto_hash, replace_file

        super().__init__(port)
        self.publisher_password = secrets.token_urlsafe(16)
        replace_file(self.password_file, f"{INGEST_USER}:{mosquitto_hash(self.ingest_password)}\n"
                                         f"{self.PUBLISHER}:{mosquitto_hash(self.publisher_password)}\n")  # fmt: skip
        acl = ACL_TEMPLATE.read_text(encoding="utf-8")
        replace_file(self.acl_file, f"{acl}\nuser {self.PUBLISHER}\ntopic write lift/+/+\n")
        self.start()

    def ingest_auth(self) -> tuple[str, str]:
        return INGEST_USER, self.ingest_password

    def publisher_auth(self) -> tuple[str, str]:
        return self.PUBLISHER, self.publisher_password

    def publisher(self) -> Any:
        """A connected publisher (paho, QoS 1 resent after a reconnect) allowed every box's topics."""
        from connectors.mqtt.publisher import connect_publisher

        client = connect_publisher("127.0.0.1", self.port, username=self.PUBLISHER, password=self.publisher_password)
        client.reconnect_delay_set(min_delay=1, max_delay=2)
        return client

    def ingest_config(self, **kw: Any) -> Any:
        from connectors.mqtt.ingest import IngestConfig

        return IngestConfig(port=self.port, username=INGEST_USER, password=self.ingest_password,
                            reconnect_max_s=2, **kw)  # fmt: skip

    def ingest_env(self) -> dict[str, str]:
        """What a `liftcase ingest` process needs in its environment to sign in here."""
        return {"LIFTCASE_MQTT_USERNAME": INGEST_USER, "LIFTCASE_MQTT_PASSWORD": self.ingest_password}
