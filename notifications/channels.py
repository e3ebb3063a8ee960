"""Delivery channels behind one small interface: `send(message) -> provider message id`.

E-mail goes through Django's backend from EMAIL_URL. SMS and push have console and file backends for
development and tests; SMS also speaks Twilio's REST API, push FCM and JPush (`push.py`), when configured.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from email.mime.image import MIMEImage
from pathlib import Path

import requests
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

logger = logging.getLogger(__name__)


class ChannelError(Exception):
    """Sending failed; the notification is retried with backoff."""


@dataclass
class Message:
    key: str  # our idempotency key, given to providers that honour one
    recipient: str
    subject: str
    text: str
    html: str = ""
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)
    inline: list[tuple[str, bytes, str]] = field(default_factory=list)  # (content id, bytes, type) the HTML shows


def send_email(message: Message) -> str:
    email = EmailMultiAlternatives(
        message.subject,
        message.text,
        settings.DEFAULT_FROM_EMAIL,
        [message.recipient],
        headers={"Message-ID": f"<{message.key}@shop>"},
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for name, content, mimetype in message.attachments:
        email.attach(name, content, mimetype)
    for cid, content, mimetype in message.inline:
        part = MIMEImage(content, _subtype=mimetype.split("/")[1])
        part.add_header("Content-ID", f"<{cid}>")
        part.add_header("Content-Disposition", "inline", filename=cid.split("@")[0] + ".png")
        email.attach(part)
    try:
        email.send()
    except Exception as exc:
        raise ChannelError(f"e-mail: {exc}") from exc
    return f"<{message.key}@shop>"


def _to_file(directory: str, message: Message, kind: str) -> str:
    """One JSON file per message, named by its key: a resend after a crash overwrites, never duplicates."""
    try:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        (path / f"{message.key}.json").write_text(
            json.dumps({"kind": kind, "to": message.recipient, "text": message.text}, ensure_ascii=False)
        )
    except OSError as exc:
        raise ChannelError(f"{kind} file backend: {exc}") from exc
    return message.key


def _twilio(message: Message) -> str:
    """Twilio's Messages API; the notification's key as idempotency token, so a retried send is one SMS."""
    url = f"{settings.TWILIO_API_URL.rstrip('/')}/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    try:
        response = requests.post(
            url,
            data={"To": message.recipient, "From": settings.TWILIO_FROM, "Body": message.text},
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
            headers={"I-Twilio-Idempotency-Token": message.key},
            timeout=10,
        )
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ChannelError(f"twilio: {exc}") from exc
    if response.status_code >= 400 or "sid" not in data:
        raise ChannelError(f"twilio {data.get('code', response.status_code)}: {data.get('message', '')}")
    return data["sid"]


def send_sms(message: Message) -> str:
    if settings.SMS_BACKEND == "file":
        return _to_file(settings.SMS_FILE_DIR, message, "sms")
    if settings.SMS_BACKEND == "twilio":
        return _twilio(message)
    sys.stdout.write(f"[sms to {message.recipient}] {message.text}\n")
    return message.key


def send_push(message: Message) -> str:
    """The recipient is `platform:token` (a registered Device)."""
    if settings.PUSH_BACKEND == "file":
        return _to_file(settings.PUSH_FILE_DIR, message, "push")
    if settings.PUSH_BACKEND == "providers":
        from .push import PROVIDERS

        platform, token = message.recipient.split(":", 1)
        return PROVIDERS[platform](token, message)
    sys.stdout.write(f"[push to {message.recipient}] {message.text}\n")
    return message.key


SENDERS = {"email": send_email, "sms": send_sms, "push": send_push}
