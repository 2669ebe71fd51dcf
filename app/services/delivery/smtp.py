"""Sending email over SMTP (TOLLGATE_SMTP_URL): implicit TLS, STARTTLS, or plain to loopback only.

One connection per batch of messages; every socket operation has a short timeout, so a server that
hangs costs a worker (or the request sending right after its commit) seconds, never minutes.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from app.domain.smtp_url import SmtpSecurity, SmtpTarget

TIMEOUT = 5.0


class SmtpError(Exception):
    """The server could not be reached or refused the message; the text says which and why."""


def build_email(*, sender: str, sender_name: str, recipient: str, subject: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender))
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


class SmtpConnection:
    """``with SmtpConnection(target) as smtp: smtp.send(message)``; opened on the first send."""

    def __init__(self, target: SmtpTarget, *, sender: str, timeout: float = TIMEOUT) -> None:
        self._target, self._sender, self._timeout = target, sender, timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        try:
            smtp = self._smtp or self._connect()
            smtp.send_message(message, from_addr=self._sender, to_addrs=[message["To"]])
        except (smtplib.SMTPException, OSError) as exc:
            self.close()  # a half-broken connection is not reused for the next message
            raise SmtpError(f"{type(exc).__name__}: {exc}") from exc

    def _connect(self) -> smtplib.SMTP:
        target, context = self._target, ssl.create_default_context()
        if target.security is SmtpSecurity.TLS:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=self._timeout, context=context)
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=self._timeout)
        self._smtp = smtp
        smtp.ehlo()
        if target.security is not SmtpSecurity.TLS:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif target.security is SmtpSecurity.STARTTLS:
                # Credentials and codes would cross the network in clear: refuse, say why.
                raise smtplib.SMTPNotSupportedError(
                    f"{target.host} does not offer STARTTLS; plain SMTP is allowed to loopback hosts only")
        if target.username:
            smtp.login(target.username, target.password or "")
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
