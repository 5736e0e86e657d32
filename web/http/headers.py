"""Security headers on every answer: one Content-Security-Policy for the console, the API and its
docs, and the same never-framed, never-sniffed, little-referred defaults everywhere.

Pages with stricter needs (the public QR pages) set their own with `secure()` in their
blueprint's after_request, which runs before the app's: the app only fills what is missing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from werkzeug.wrappers import Response


def policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def console_policy(map_tile_url: str = "") -> str:
    """Scripts and styles from this site only (npm packages under /static/npm/, the console's own
    modules): no inline script, handler or style attribute. Data blocks (<script
    type="application/json">) are not run, so they need nothing; bpmn-js, Leaflet and Swagger UI
    style through the CSSOM (element.style), which the policy does not govern. Map tiles, when
    configured, come from their server."""
    images = "'self' data:"
    tiles = _tile_origin(map_tile_url)
    if tiles:
        images += f" {tiles}"
    return policy(
        {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": images,
            "font-src": "'self' data:",
            "connect-src": "'self'",
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        }
    )


def _tile_origin(template: str) -> str:
    """The map tiles' origin for img-src: "https://{s}.tile.example/{z}/{x}/{y}.png" gives
    "https://*.tile.example"; a host that is all placeholder gives the scheme alone."""
    if not template:
        return ""
    parts = urlsplit(template)
    host = parts.netloc.replace("{s}", "*")
    if not parts.scheme or "{" in host or not host:
        return f"{parts.scheme}:" if parts.scheme else ""
    return f"{parts.scheme}://{host}"


def secure(response: Response, *, csp: str, referrer: str = "same-origin") -> Response:
    """Set the headers that the response does not have yet (a view may have set its own)."""
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for older browsers
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", referrer)
    return response


def install(app: Flask, *, map_tile_url: str = "") -> None:
    csp = console_policy(map_tile_url)

    @app.after_request
    def _secure(response: Response) -> Response:
        return secure(response, csp=csp)
