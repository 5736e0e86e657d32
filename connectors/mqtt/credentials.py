"""Who may use the broker: each box signs in with its device id and a secret of its own, the ingest
with its configured account. The register keeps the secrets' hashes (registry/devices.py); this
module makes secrets, hashes them as Mosquitto 2 reads them, and writes the broker's password file
and ACL (connectors/mqtt/mosquitto.conf points at both)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import signal
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from infra.settings import Settings
from registry.devices import credential_hashes, registered_ids, set_credentials

ACL_TEMPLATE = Path(__file__).with_name("mosquitto.acl")
TEMPLATE_INGEST_USER = "liftcase-ingest"
# Mosquitto 2's own default (mosquitto_passwd). The secrets are random, 192 bits: no dictionary
# to slow down, and the broker pays the iterations on every CONNECT of a reconnect storm.
HASH_ITERATIONS = 101
# What a username may hold: ':' ends it in the password file, and Mosquitto refuses pattern ACLs
# (%u) for a username with '+', '#' or '/'.
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,40}")


class CredentialError(ValueError):
    pass


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def mosquitto_hash(secret: str, salt: bytes | None = None, iterations: int = HASH_ITERATIONS) -> str:
    """`$7$<iterations>$<salt>$<PBKDF2-HMAC-SHA512>`, base64: what mosquitto_passwd writes."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _ingest_account(settings: Settings) -> tuple[str, str]:
    user, password = settings.mqtt_username, settings.mqtt_password
    if not user or not password:
        raise CredentialError("set LIFTCASE_MQTT_USERNAME and LIFTCASE_MQTT_PASSWORD: the broker's files must let "
                              "the ingest in")  # fmt: skip
    if not USERNAME.fullmatch(user):
        raise CredentialError(f"ingest username {user!r}: letters, digits, '.', '_' and '-' only")
    return user, password


def issue_credentials(
    sessions: sessionmaker, settings: Settings, now: datetime, device_ids: Sequence[str] | None, *, rotate: bool = False
) -> dict[str, str]:
    """New secrets for `device_ids` (made or replaced), or with None for every registered box without
    one (`rotate`: every registered box). Their hashes go into the register and the password file is
    written again, in one go: a failed write leaves the register as it was. Returns device id ->
    secret, to hand to the boxes: it is kept nowhere."""
    ingest_user, _ = _ingest_account(settings)
    with sessions() as session, session.begin():
        if device_ids is None:
            held = set() if rotate else set(credential_hashes(session))
            chosen = [d for d in registered_ids(session) if d not in held]
        else:
            chosen = list(dict.fromkeys(device_ids))
            unknown = sorted(set(chosen) - set(registered_ids(session, chosen)))
            if unknown:
                raise CredentialError(f"not registered: {', '.join(unknown)}")
        for device_id in chosen:
            if not USERNAME.fullmatch(device_id) or device_id == ingest_user:
                raise CredentialError(f"device id {device_id!r} cannot be a broker username")
        issued = {device_id: new_secret() for device_id in chosen}
        set_credentials(session, {d: mosquitto_hash(s) for d, s in issued.items()}, now)
        _write_password_file(session, settings)
    return issued


def write_broker_files(sessions: sessionmaker, settings: Settings) -> int:
    """Write the password file (the ingest's account and every box's secret hash from the register)
    and the ACL, e.g. on a new broker machine or after the ingest's password changed. Returns how
    many boxes may sign in."""
    with sessions() as session:
        boxes = _write_password_file(session, settings)
    ingest_user, _ = _ingest_account(settings)
    acl = ACL_TEMPLATE.read_text(encoding="utf-8").replace(f"user {TEMPLATE_INGEST_USER}\n", f"user {ingest_user}\n")
    replace_file(Path(settings.mqtt_acl_file), acl)
    return boxes


def _write_password_file(session: Session, settings: Settings) -> int:
    ingest_user, ingest_password = _ingest_account(settings)
    hashes = credential_hashes(session)
    hashes.pop(ingest_user, None)
    lines = [f"{ingest_user}:{mosquitto_hash(ingest_password)}\n"]
    lines += [f"{device_id}:{h}\n" for device_id, h in sorted(hashes.items())]
    replace_file(Path(settings.mqtt_password_file), "".join(lines))
    return len(hashes)


def replace_file(path: Path, text: str) -> None:
    """Swap in the new content at once (the broker may reload at any moment), keeping the file's
    owner and mode; a new file gets the directory's group, readable by it (the broker's user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.stat() if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, (old.st_mode & 0o777) if old else 0o640)
        uid, gid = (old.st_uid, old.st_gid) if old else (os.getuid(), path.parent.stat().st_gid)
        if (uid, gid) != (os.getuid(), os.getgid()):
            os.chown(tmp, uid, gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def reload_broker(pid_file: Path) -> int:
    """SIGHUP to the broker: it reads the password file and ACL again and drops the connections
    whose credentials no longer hold. Returns its pid."""
    pid = int(pid_file.read_text().strip())
    os.kill(pid, signal.SIGHUP)
    return pid
