"""Print the exact request a sandbox gateway would send for a payment, signed with the sandbox keys."""

import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments.gateways import get_gateway
from payments.models import Payment
from payments.sandbox.gateways import sandbox_record, sandbox_txn_id


class Command(BaseCommand):
    help = "Sign a sandbox gateway notification for a payment; the JSON request is the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("reference")
        parser.add_argument("--gateway", required=True, choices=["alipay", "wechatpay", "stripe", "paypal"])
        parser.add_argument("--outcome", required=True, choices=["success", "failure", "refund"])
        parser.add_argument("--amount", type=Decimal, help="the amount the gateway reports (default: the payment's)")
        parser.add_argument("--currency", help="the currency the gateway reports (default: the payment's)")
        parser.add_argument("--refund-amount", type=Decimal, help="with --outcome refund (default: the whole amount)")
        parser.add_argument(
            "--stale", action="store_true", help="a timestamp 10 minutes old (where the scheme has one)"
        )

    def handle(self, *args, reference, gateway, outcome, amount, currency, refund_amount, stale, **options):
        payment = Payment.objects.filter(reference=reference).first()
        if payment is None:
            # An unknown reference is a legitimate thing to test: sign it anyway.
            if amount is None:
                raise CommandError(f"unknown payment {reference}: give --amount")
            payment = Payment(reference=reference, gateway=gateway, amount=amount, currency=currency or "CNY")
        elif payment.gateway != gateway:
            raise CommandError(f"payment {reference} is a {payment.gateway} payment, not {gateway}")
        amount = amount if amount is not None else payment.amount
        currency = (currency or payment.currency).upper()
        now = timezone.now() - timezone.timedelta(minutes=10) if stale else timezone.now()
        txn_id = sandbox_txn_id(gateway, reference)
        if payment.pk and outcome in ("success", "failure"):
            sandbox_record(
                gateway=gateway,
                reference=reference,
                status="paid" if outcome == "success" else "failed",
                amount=amount,
                currency=currency,
            )
        refund_id = f"RF{txn_id[-10:]}{now.strftime('%H%M%S%f')}"
        signed = get_gateway(gateway).sandbox_request(
            reference=reference,
            amount=amount,
            currency=currency,
            outcome=outcome,
            txn_id=txn_id,
            now=now,
            refund_id=refund_id,
            refund_amount=refund_amount if refund_amount is not None else amount,
        )
        headers = {"Content-Type": signed.content_type, **signed.headers}
        self.stdout.write(
            json.dumps(
                {"method": "POST", "path": signed.path, "headers": headers, "body": signed.body}, ensure_ascii=False
            )
        )
