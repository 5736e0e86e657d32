"""Which channels this installation has: the plugin table and its construction from settings.

The flows see only `Channel` (connectors.notify.base); a vendor module is imported here, by name,
and only when its channel is configured.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from connectors.notify.base import Channel
from infra.settings import Settings

INBOX = "inbox"  # every recipient's; the SSE stream is its live view, not a channel of its own
# channel name -> (is it configured?, "module:factory" building it from settings)
PLUGINS: dict[str, tuple[Callable[[Settings], bool], str]] = {
    "email": (lambda s: bool(s.smtp_host), "connectors.notify.channels:smtp_from_settings"),
    "sms": (lambda s: bool(s.sms_gateway_url), "connectors.notify.channels:sms_from_settings"),
    "im": (lambda s: bool(s.im_webhook_url), "connectors.notify.channels:im_from_settings"),
}
OUTBOUND = tuple(PLUGINS)


def _load(path: str) -> Callable[[Settings], Channel]:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def configured_channels(settings: Settings) -> dict[str, Channel]:
    return {name: _load(path)(settings) for name, (on, path) in PLUGINS.items() if on(settings)}


_built: dict[int, tuple[Settings, dict[str, Channel]]] = {}


def channels_of(settings: Settings) -> dict[str, Channel]:
    """The configured channels, built once per settings object (settings are read once, at start)."""
    hit = _built.get(id(settings))
    if hit is None or hit[0] is not settings:
        hit = _built[id(settings)] = (settings, configured_channels(settings))
    return hit[1]


def smtp_from_settings(s: Settings) -> Channel:
    from connectors.notify.smtp import SmtpChannel

    return SmtpChannel(
        s.smtp_host or "", s.smtp_port, s.smtp_from, user=s.smtp_user, password=s.smtp_password,
        starttls=s.smtp_starttls, timeout=s.notify_timeout_seconds,
    )


def sms_from_settings(s: Settings) -> Channel:
    from connectors.notify.gateway import HttpGateway

    return HttpGateway("sms", s.sms_gateway_url or "", s.gateway_secret, flavour="sms",
                       timeout=s.notify_timeout_seconds)


def im_from_settings(s: Settings) -> Channel:
    from connectors.notify.gateway import HttpGateway

    return HttpGateway("im", s.im_webhook_url or "", s.gateway_secret, flavour=s.im_flavour,
                       timeout=s.notify_timeout_seconds)
