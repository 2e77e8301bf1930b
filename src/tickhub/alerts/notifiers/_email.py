"""E-mail: the alert as a plain-text message over SMTP (`TICKHUB_SMTP_*`, as the
accounts mail uses: stdlib `smtplib` in a thread, STARTTLS when set).

The SMTP answer decides what happens next: 2xx is sent, 4xx (and a lost connection) is
tried again, 5xx is final. `response_status` keeps the reply code of the last command.
"""

from __future__ import annotations

import asyncio
import email.policy
import smtplib
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from tickhub.alerts.notifiers._outcome import Outcome, exception_text
from tickhub.settings import SmtpSettings

NO_HOST = "no SMTP server configured (set TICKHUB_SMTP_HOST)"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _by_code(code: int, error: str) -> Outcome:
    return Outcome.retry(error, code) if 400 <= code < 500 else Outcome.failed(error, code)


class EmailNotifier:
    """Sends one message per delivery, each SMTP session in a thread of its own pool
    (`concurrency` at once) and within `timeout_s` in all. The session is never
    abandoned half-way: its result is always known. `tls_context` verifies the
    server's certificate for STARTTLS (default: the system's trusted CAs)."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        timeout_s: float,
        concurrency: int = 16,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._tls_context = tls_context
        self._concurrency = concurrency
        self._executor: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Lets the pool's threads end (a session under way still finishes)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def compose(
        self, *, to: str, subject: str, body: str, delivery_id: int, now: datetime
    ) -> EmailMessage:
        sender = self._settings.sender
        domain = parseaddr(sender)[1].rpartition("@")[2] or "tickhub.localhost"
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(now)
        # The same on every attempt, so a repeated attempt is recognisably the same mail.
        message["Message-ID"] = f"<tickhub.delivery.{delivery_id}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message["X-Tickhub-Delivery"] = str(delivery_id)
        message.set_content(body)
        return message

    async def send(
        self, *, to: str, subject: str, body: str, delivery_id: int, now: datetime
    ) -> Outcome:
        if not self._settings.host:
            return Outcome.failed(NO_HOST)
        message = self.compose(to=to, subject=subject, body=body, delivery_id=delivery_id, now=now)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._concurrency, thread_name_prefix="tickhub-smtp"
            )
        loop = asyncio.get_running_loop()
        # The thread keeps its own deadline, so it is not timed out from here: its outcome
        # is what happened.
        return await loop.run_in_executor(self._executor, self._send, message, to)

    def _send(self, message: EmailMessage, to: str) -> Outcome:
        try:
            return self._transaction(message, to)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = exc.recipients.get(to, (550, b"recipient refused"))
            return _by_code(code, f"SMTP {code} for the recipient: {_text(reply)}")
        except smtplib.SMTPNotSupportedError as exc:
            hint = " (TICKHUB_SMTP_STARTTLS)" if "STARTTLS" in str(exc) else ""
            return Outcome.failed(f"SMTP server: {exc}{hint}")
        except smtplib.SMTPAuthenticationError as exc:
            return Outcome.failed(
                f"SMTP login refused ({exc.smtp_code}: {_text(exc.smtp_error)}); "
                "check TICKHUB_SMTP_USERNAME and TICKHUB_SMTP_PASSWORD",
                exc.smtp_code,
            )
        except smtplib.SMTPResponseException as exc:
            return _by_code(exc.smtp_code, f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
        except ssl.SSLCertVerificationError as exc:
            return Outcome.failed(f"SMTP server certificate refused: {exc.verify_message}")
        except TimeoutError:
            return Outcome.retry(f"SMTP timed out after {self._timeout_s:g} s")
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome.retry(f"SMTP: {exception_text(exc)}")

    def _transaction(self, message: EmailMessage, to: str) -> Outcome:
        s = self._settings
        data = message.as_bytes(policy=email.policy.SMTP)
        deadline = time.monotonic() + self._timeout_s
        smtp = smtplib.SMTP(s.host, s.port, timeout=self._timeout_s)

        def within_deadline() -> None:
            """Each further command gets only what is left of the time."""
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if smtp.sock is not None:
                smtp.sock.settimeout(left)

        try:
            if s.starttls:
                within_deadline()
                smtp.starttls(context=self._tls_context or ssl.create_default_context())
            if s.username:
                within_deadline()
                smtp.login(s.username, s.password.get_secret_value() if s.password else "")
            within_deadline()
            smtp.ehlo_or_helo_if_needed()
            code, reply = smtp.mail(s.sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, s.sender)
            within_deadline()
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            within_deadline()
            code, reply = smtp.data(data)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        finally:
            # The mail is accepted once DATA is answered: a failing QUIT changes nothing.
            with suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()
        return Outcome.sent(code)
