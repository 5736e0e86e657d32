"""Content-addressed snapshot files under settings.upload_dir: the same image is stored once."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


@dataclass(frozen=True)
class Stored:
    sha256: str
    storage_key: str  # relative to upload_dir
    size: int
    content_type: str


def store(upload_dir: Path, data: bytes, content_type: str) -> Stored:
    digest = hashlib.sha256(data).hexdigest()
    key = f"snapshots/{digest[:2]}/{digest}.{EXTENSIONS.get(content_type, 'bin')}"
    path = Path(upload_dir) / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    return Stored(digest, key, len(data), content_type)


def path_of(upload_dir: Path, storage_key: str) -> Path:
    return Path(upload_dir) / storage_key
