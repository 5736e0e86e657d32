"""Errors every layer may raise and the web layer maps to HTTP answers (404, 409)."""

from __future__ import annotations


class NotFound(Exception):
    """The thing asked for does not exist, or is out of the caller's scope (the same answer)."""


class Conflict(Exception):
    """Someone else changed it first (the task is already done, or the case moved on)."""
