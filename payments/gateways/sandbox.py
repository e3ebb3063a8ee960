"""The sandbox gateways' own memory: what each knows of a payment, for queries and refunds.

With PAYMENTS_SANDBOX=false the same calls go to each gateway's API through its live_query() and live_refund().
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import transaction

from .base import GatewayRefused, Notification


def sandbox_txn_id(gateway: str, reference: str) -> str:
    """A stable transaction id per payment, in the gateway's own style."""
    digest = hashlib.sha256(f"{gateway}:{reference}".encode()).hexdigest()
    return {
        "alipay": "2026" + str(int(digest[:16], 16)).zfill(24)[:24],
        "wechatpay": "4200" + str(int(digest[:16], 16)).zfill(24)[:24],
        "stripe": "pi_" + digest[:24],
        "paypal": digest[:17].upper(),
    }.get(gateway, digest[:24])


def sandbox_record(
    *, gateway: str, reference: str, status: str, amount: Decimal, currency: str, order_id: str = ""
) -> str:
    """Remember what the sandbox gateway decided (pending, paid, failed); returns its transaction id.
    `order_id`: the gateway's own id of the payment (PayPal's order), as create() returned it."""
    from payments.models import SandboxTransaction

    txn_id = sandbox_txn_id(gateway, reference)
    defaults = {"status": status, "gateway_txn_id": txn_id, "amount": amount, "currency": currency}
    if order_id:
        defaults["order_id"] = order_id
    SandboxTransaction.objects.update_or_create(gateway=gateway, reference=reference, defaults=defaults)
    return txn_id


def sandbox_record_refund(*, gateway: str, reference: str, refund_id: str, amount: Decimal) -> None:
    """The sandbox gateway refunded `amount` of a payment under `refund_id` (once per id, as gateways do)."""
    from payments.models import SandboxTransaction

    with transaction.atomic():
        tx = SandboxTransaction.objects.select_for_update().filter(gateway=gateway, reference=reference).first()
        if tx is not None and refund_id not in tx.refunds:
            tx.refunds[refund_id] = str(amount)
            tx.refunded += amount
            tx.save(update_fields=["refunds", "refunded", "updated_at"])


def sandbox_ledger(gateway: str, *, order_id: str = "", txn_id: str = "", refund_id: str = ""):
    """A sandbox payment found as the gateway's API finds it, by the gateway's own id; unknown → refused."""
    from payments.models import SandboxTransaction

    rows = SandboxTransaction.objects.filter(gateway=gateway)
    if order_id:
        rows = rows.filter(order_id=order_id)
    elif txn_id:
        rows = rows.filter(gateway_txn_id=txn_id)
    else:
        rows = rows.filter(refunds__has_key=refund_id)
    tx = rows.first() if order_id or txn_id or refund_id else None
    if tx is None:
        raise GatewayRefused(f"{gateway}: no such resource", "RESOURCE_NOT_FOUND")
    return tx


class SandboxLedgerMixin:
    """query() and refund() from the sandbox ledger, or, with PAYMENTS_SANDBOX=false, from the gateway's
    own `live_query()` and `live_refund()`."""

    name: str

    @property
    def sandbox(self) -> bool:
        from django.conf import settings

        return settings.PAYMENTS_SANDBOX

    def query(self, *, reference: str, action: dict | None = None) -> Notification | None:
        """The gateway's view of a payment (`action`: what create() returned); None while it has nothing
        final to say."""
        if not self.sandbox:
            return self.live_query(reference=reference, action=action)
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
            return self.live_refund(
                reference=reference,
                gateway_txn_id=gateway_txn_id,
                amount=amount,
                currency=currency,
                refund_id=refund_id,
                total=total,
            )
        sandbox_record_refund(gateway=self.name, reference=reference, refund_id=refund_id, amount=amount)
        return refund_id
