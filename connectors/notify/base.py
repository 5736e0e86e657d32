"""The contract between the notification flows and a channel (a vendor plugin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class DeliveryError(Exception):
    """The channel could not deliver now; another attempt later may succeed."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (recipient refused, bad address, the gateway rejects the request)."""


@dataclass(frozen=True)
class OutboundMessage:
    notification_id: int
    # Stable across retries: a receiver can drop a repeat after a timeout we could not tell apart.
    dedupe_key: str
    to: str
    subject: str
    body: str
    case_number: str | None
    priority: str | None
    at: datetime


class Channel(Protocol):
    name: str
    # Which of the user's contact fields the channel sends to: "email" or "phone".
    address_field: str

    def send(self, message: OutboundMessage) -> None:
        """Deliver or raise DeliveryError (PermanentDeliveryError when retrying is pointless)."""
        ...
