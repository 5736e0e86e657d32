"""Where the app may send a browser back to after signing in (the console's own pages only): one
check for the sign-in page and for single sign-on, which carries the page through the provider."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit


def console_path(value: str) -> str:
    """`value` if it is a console page's path, else "": where sign-in may send the browser back to.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so such characters
    turn "/ /host" into "//host", another site: they are refused anywhere, and "//", "." and ".."
    in the path, as sent and percent-decoded (what a server along the way may decode)."""
    if any(_unsafe(c) for c in value):
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return ""
    for path in (parts.path, unquote(parts.path)):
        if any(_unsafe(c) for c in path) or "//" in path or not (path + "/").startswith("/console/"):
            return ""
        if any(segment in (".", "..") for segment in path.split("/")):
            return ""
    return value


def _unsafe(char: str) -> bool:
    return char == "\\" or char.isspace() or unicodedata.category(char) in ("Cc", "Cf")
