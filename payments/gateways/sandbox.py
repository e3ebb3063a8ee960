"""The sandbox gateways' own memory: what each knows of a payment, for queries and refunds.

With PAYMENTS_SANDBOX=false each gateway overrides query() and refund() with calls to its own API.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import transaction

from .base import GatewayNotConfigured, Notification


def sandbox_txn_id(gateway: str, reference: str) -> str:
    """A stable transaction id per payment, in the gateway's own style."""
    digest = hashlib.sha256(f"{gateway}:{reference}".encode()).hexdigest()
    return {
        "alipay": "2026" + str(int(digest[:16], 16)).zfill(24)[:24],
        "wechatpay": "4200" + str(int(digest[:16], 16)).zfill(24)[:24],
        "stripe": "pi_" + digest[:24],
        "paypal": digest[:17].upper(),
    }.get(gateway, digest[:24])


def sandbox_record(*, gateway: str, reference: str, status: str, amount: Decimal, currency: str) -> str:
    """Remember what the sandbox gateway decided (pending, paid, failed); returns its transaction id."""
    from payments.models import SandboxTransaction

    txn_id = sandbox_txn_id(gateway, reference)
    SandboxTransaction.objects.update_or_create(
        gateway=gateway,
        reference=reference,
        defaults={"status": status, "gateway_txn_id": txn_id, "amount": amount, "currency": currency},
    )
    return txn_id


class SandboxLedgerMixin:
    name: str

    @property
    def sandbox(self) -> bool:
        from django.conf import settings

        return settings.PAYMENTS_SANDBOX

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        """The gateway's view of a payment (`action`: what create() returned); None while it has nothing
        final to say."""
        if not self.sandbox:
            raise GatewayNotConfigured(f"live {self.name} order queries are not wired yet")
        from payments.models import SandboxTransaction

        tx = SandboxTransaction.objects.filter(gateway=self.name, reference=reference).first()
        if tx is None or tx.status not in ("paid", "failed"):
            return None
        return Notification(
            reference=reference,
            outcome="success" if tx.status == "paid" else "failure",
            event_type=f"query:{tx.status}",
            gateway_txn_id=tx.gateway_txn_id,
            amount=tx.amount,
            currency=tx.currency,
            definitive=True,
        )

    def refund(
        self, *, reference: str, gateway_txn_id: str, amount: Decimal, currency: str, refund_id: str, total: Decimal
    ) -> str:
        """Ask the gateway to refund `amount` of a payment of `total`; returns the gateway's refund id."""
        if not self.sandbox:
            raise GatewayNotConfigured(f"live {self.name} refunds are not wired yet")
        from payments.models import SandboxTransaction

        with transaction.atomic():
            tx = SandboxTransaction.objects.select_for_update().filter(gateway=self.name, reference=reference).first()
            if tx is not None:
                tx.refunded += amount
                tx.save(update_fields=["refunded", "updated_at"])
        return refund_id
