"""A system that receives our webhooks (a storefront, an ERP), on a real local HTTP server: it records every
request and answers what the test scripts (a status, or hanging until released)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)  # statuses to answer in turn; then 200
    hang: threading.Event | None = None  # set: answer; unset: hold the request open
    requests: list[dict] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def respond(self, method, path, headers, body):
        self.requests.append({"headers": {k.lower(): v for k, v in headers.items()}, "body": body.decode()})
        self.arrived.set()
        if self.hang is not None:
            self.hang.wait(30)
        status = self.answers.pop(0) if self.answers else 200
        return status, json.dumps({"ok": status < 300}).encode(), {}

    def verified(self, secret: str) -> list[dict]:
        """Every request, its signature checked with the Standard Webhooks verifier (raises if one fails)."""
        return [
            Webhook(secret).verify(r["body"], r["headers"]) | {"id": r["headers"]["webhook-id"]} for r in self.requests
        ]
