"""Firebase Cloud Messaging (HTTP v1 with a service account's OAuth JWT) and JPush (REST v3, Basic auth), played
on a real local HTTP server (`tests.local_server`).

Written from the providers' documentation, apart from the adapters: FCM's token endpoint checks the RS256
assertion against the service account's public key, its audience, issuer, scope and expiry, and hands out an
access token that `messages:send` requires; JPush checks the app key and master secret. Both answer a token they
do not know as they do in production (FCM 404 `UNREGISTERED`, JPush 400 error 1011)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # the assertion's audience, wherever it is posted


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _answer(status: int, payload: dict) -> tuple[int, bytes, dict]:
    return status, json.dumps(payload).encode(), {}


@dataclass
class PushProviders:
    project_id: str = "shop-test"
    client_email: str = "push@shop-test.iam.gserviceaccount.com"
    jpush_app_key: str = "jpush-app-key-0123"
    jpush_master_secret: str = "jpush-master-secret-4567"
    fcm_devices: set[str] = field(default_factory=set)  # tokens FCM still knows
    jpush_devices: set[str] = field(default_factory=set)
    fcm_sent: list[dict] = field(default_factory=list)
    jpush_sent: list[dict] = field(default_factory=list)
    tokens_issued: int = 0
    url: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    _access_tokens: set[str] = field(default_factory=set)

    def service_account(self, key: rsa.RSAPrivateKey | None = None) -> dict:
        """The JSON key file Firebase's console hands out, pointing its token endpoint at this server."""
        pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": "k1",
            "private_key": pem.decode(),
            "client_email": self.client_email,
            "client_id": "1",
            "token_uri": f"{self.url}/token",
        }

    def respond(self, method, path, headers, body):
        if path == "/token":
            return self._oauth_token(body)
        if path == f"/v1/projects/{self.project_id}/messages:send":
            return self._fcm_send(headers, body)
        if path == "/v3/push":
            return self._jpush(headers, body)
        return _answer(404, {"error": "not found"})

    def _oauth_token(self, body):
        form = dict(parse_qsl(body.decode()))
        if form.get("grant_type") != JWT_BEARER:
            return _answer(400, {"error": "unsupported_grant_type"})
        try:
            header, claims, signature = form["assertion"].split(".")
            self.key.public_key().verify(
                _b64url_decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims = json.loads(_b64url_decode(claims))
        except (KeyError, ValueError, InvalidSignature):
            return _answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        if json.loads(_b64url_decode(header)).get("alg") != "RS256":
            return _answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT algorithm."})
        if (
            claims.get("iss") != self.client_email
            or claims.get("aud") != GOOGLE_TOKEN_AUDIENCE
            or FCM_SCOPE not in claims.get("scope", "").split()
            or not claims.get("iat", 0) - 300 <= time.time() <= claims.get("exp", 0)
        ):
            return _answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT claims."})
        token = "ya29." + secrets.token_urlsafe(24)
        self._access_tokens.add(token)
        self.tokens_issued += 1
        return _answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _fcm_send(self, headers, body):
        if headers.get("Authorization", "").removeprefix("Bearer ") not in self._access_tokens:
            return _answer(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                           "status": "UNAUTHENTICATED"}})  # fmt: skip
        message = json.loads(body)["message"]
        if message.get("token") not in self.fcm_devices:
            return _answer(404, {"error": {"code": 404, "message": "Requested entity was not found.",
                                           "status": "NOT_FOUND", "details": [{
                                               "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                               "errorCode": "UNREGISTERED"}]}})  # fmt: skip
        self.fcm_sent.append(message)
        return _answer(200, {"name": f"projects/{self.project_id}/messages/0:{len(self.fcm_sent)}"})

    def _jpush(self, headers, body):
        expected = "Basic " + base64.b64encode(f"{self.jpush_app_key}:{self.jpush_master_secret}".encode()).decode()
        if headers.get("Authorization") != expected:
            return _answer(401, {"error": {"code": 1004, "message": "Authen failed"}})
        push = json.loads(body)
        ids = push.get("audience", {}).get("registration_id", [])
        if not set(ids) & self.jpush_devices:
            return _answer(400, {"error": {"code": 1011, "message": "cannot find user by this audience or has "
                                           "been inactive for more than 255 days"}})  # fmt: skip
        self.jpush_sent.append(push)
        return _answer(200, {"sendno": "0", "msg_id": str(20000000 + len(self.jpush_sent))})
