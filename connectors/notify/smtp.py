"""E-mail over SMTP (standard library smtplib)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from connectors.notify.base import DeliveryError, OutboundMessage, PermanentDeliveryError


class SmtpChannel:
    name = "email"
    address_field = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.starttls, self.timeout = user, password, starttls, timeout

    def _compose(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = format_datetime(message.at)
        # Same id on every retry, so a mail system can recognise a repeat.
        mail["Message-ID"] = make_msgid(idstring=f"n{message.notification_id}", domain="liftcase")
        mail["X-Liftcase-Dedupe"] = message.dedupe_key
        if message.case_number:
            mail["X-Liftcase-Case"] = message.case_number
        mail.set_content(message.body or message.subject)
        return mail

    def send(self, message: OutboundMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(self._compose(message))
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            text = f"recipient refused: {err.recipients}"
            raise (PermanentDeliveryError if all(c >= 500 for c in codes) else DeliveryError)(text) from err
        except smtplib.SMTPResponseException as err:
            text = f"SMTP {err.smtp_code}: {err.smtp_error!r}"
            raise (PermanentDeliveryError if err.smtp_code >= 500 else DeliveryError)(text) from err
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {err}") from err
