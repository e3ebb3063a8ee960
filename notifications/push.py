"""Push providers: Firebase Cloud Messaging (HTTP v1) and JPush (REST v3, the Android push of China).

Each takes one device token and one rendered message and returns the provider's message id. A token the
provider no longer knows raises `TokenUnregistered`, so the device can be forgotten instead of retried.
"""

from __future__ import annotations

import functools

import requests
from django.conf import settings
from google.auth.exceptions import GoogleAuthError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from .channels import ChannelError, Message

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JPUSH_NO_SUCH_AUDIENCE = 1011  # "cannot find user by this audience": the registration id is gone


class TokenUnregistered(ChannelError):
    """The provider says this device token is no longer valid (app uninstalled, token rotated)."""


@functools.cache
def _fcm_session(service_account_file: str) -> tuple[AuthorizedSession, str]:
    """One session per process: google-auth signs the service account's JWT, trades it at the account's
    `token_uri` for an access token and refreshes it before it expires."""
    credentials = service_account.Credentials.from_service_account_file(service_account_file, scopes=[FCM_SCOPE])
    return AuthorizedSession(credentials), credentials.project_id


def fcm_send(token: str, message: Message) -> str:
    try:
        session, project_id = _fcm_session(settings.FCM_SERVICE_ACCOUNT_FILE)
        response = session.post(
            f"{settings.FCM_API_URL.rstrip('/')}/v1/projects/{project_id}/messages:send",
            json={
                "message": {
                    "token": token,
                    "notification": {"title": message.subject, "body": message.text},
                    "data": {"key": message.key},
                }
            },
            timeout=10,
        )
        data = response.json()
    except (OSError, ValueError, GoogleAuthError, requests.RequestException) as exc:
        raise ChannelError(f"fcm: {exc}") from exc
    if response.status_code == 200 and "name" in data:
        return data["name"]
    error = data.get("error", {}) if isinstance(data, dict) else {}
    codes = {d.get("errorCode") for d in error.get("details", []) if isinstance(d, dict)}
    if "UNREGISTERED" in codes:
        raise TokenUnregistered("fcm: UNREGISTERED")
    raise ChannelError(f"fcm {error.get('status', response.status_code)}: {error.get('message', '')}")


def jpush_send(token: str, message: Message) -> str:
    try:
        response = requests.post(
            f"{settings.JPUSH_API_URL.rstrip('/')}/v3/push",
            json={
                "platform": "all",
                "audience": {"registration_id": [token]},
                "notification": {"alert": message.text, "android": {"alert": message.text, "title": message.subject}},
                "options": {"apns_production": not settings.DEBUG},
            },
            auth=(settings.JPUSH_APP_KEY, settings.JPUSH_MASTER_SECRET),
            timeout=10,
        )
        data = response.json()
    except (ValueError, requests.RequestException) as exc:
        raise ChannelError(f"jpush: {exc}") from exc
    if response.status_code == 200 and "msg_id" in data:
        return str(data["msg_id"])
    error = data.get("error", {}) if isinstance(data, dict) else {}
    if error.get("code") == JPUSH_NO_SUCH_AUDIENCE:
        raise TokenUnregistered(f"jpush {JPUSH_NO_SUCH_AUDIENCE}")
    raise ChannelError(f"jpush {error.get('code', response.status_code)}: {error.get('message', '')}")


def apns_send(token: str, message: Message) -> str:
    raise ChannelError("apns: no APNs provider is configured")


PROVIDERS = {"fcm": fcm_send, "jpush": jpush_send, "apns": apns_send}
