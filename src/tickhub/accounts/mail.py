"""Mail for verification and password-reset links: SMTP (stdlib `smtplib`, run in a
thread) when `TICKHUB_SMTP_HOST` is set."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from tickhub.settings import SmtpSettings


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A mail to send after the answer (so the answer's timing tells nothing of it)."""

    to: str
    subject: str
    body: str


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                password = s.password.get_secret_value() if s.password else ""
                smtp.login(s.username, password)
            smtp.send_message(message)


def mailer_for(settings: SmtpSettings) -> Mailer | None:
    """The SMTP mailer, or None when no SMTP host is configured."""
    return SmtpMailer(settings) if settings.host else None


def verification_mail(link: str) -> tuple[str, str]:
    return (
        "Verify your e-mail address",
        f"Welcome to tickhub.\n\nOpen this link to verify your e-mail address:\n\n{link}\n\n"
        "If you did not register, ignore this message.\n",
    )


def reset_mail(link: str, ttl_s: int) -> tuple[str, str]:
    minutes = max(1, ttl_s // 60)
    return (
        "Reset your password",
        "Someone asked to reset the password of your tickhub account.\n\n"
        f"Open this link within {minutes} minutes to check it, then send the new password "
        f"with its uidb64 and token to PATCH /api/user/password-reset-complete:\n\n{link}\n\n"
        "If it was not you, ignore this message: your password is unchanged.\n",
    )


def already_registered_mail(base_url: str) -> tuple[str, str]:
    return (
        "Someone tried to register with your e-mail address",
        "Someone tried to register a tickhub account with this e-mail address, which "
        "already has one.\n\nIf it was you, sign in; if you forgot your password, ask for a "
        f"reset link at {base_url}/api/user/request-reset-email.\n\n"
        "If it was not you, ignore this message: your account is unchanged.\n",
    )
