"""Bulk reconciliation: a gateway's settlement file (Alipay's or WeChat Pay's bill, or a plain CSV) read line by
line, each paid line applied to its payment through the same path as a verified callback — so a line for a
payment already paid is a duplicate, a line whose amount differs is flagged for finance, and importing the
same file twice applies nothing twice. The import itself is kept with every line's outcome."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.fsm import Actor, actor_parts

from .gateways.base import Notification
from .models import Payment, PaymentEvent, SettlementImport

MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")


class SettlementFileInvalid(ApplicationError):
    code = "settlement_file_invalid"
    default_detail = _("The file is not a settlement file of that kind.")


@dataclass
class Line:
    number: int  # in the file
    reference: str  # our payment reference (the merchant order number the gateway was given)
    amount: Decimal
    currency: str
    txn_id: str
    paid: bool  # a payment line (refunds and other kinds are listed, not applied)
    raw: str


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030: Alipay's bills are GBK."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise SettlementFileInvalid(_("The file is neither UTF-8 nor GBK text.")) from exc


def _money(value: str, number: int) -> Decimal:
    value = value.strip().lstrip("`¥")
    if not MONEY.match(value):
        raise SettlementFileInvalid(_("Line %(n)d: %(v)s is not an amount.") % {"n": number, "v": value[:20]})
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise SettlementFileInvalid(_("Line %(n)d: %(v)s is not an amount.") % {"n": number, "v": value[:20]}) from exc


def _rows(text: str, header_starts: str) -> list[tuple[int, list[str], str]]:
    """The rows under the header row (the first row whose first cell starts with `header_starts`), as
    (line number, cells, raw line); comment lines (#) and the summary block after an empty cell row end it."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip("`").startswith(header_starts)), None)
    if start is None:
        raise SettlementFileInvalid()
    header = next(csv.reader([lines[start]]))
    rows = []
    for i in range(start + 1, len(lines)):
        raw = lines[i]
        if not raw.strip() or raw.startswith("#"):
            break
        cells = [c.strip().lstrip("`") for c in next(csv.reader([raw]))]
        if len(cells) < len(header):
            break  # WeChat Pay's summary block ("总交易单数,…") follows the details
        rows.append((i + 1, dict(zip([h.strip().lstrip("`") for h in header], cells, strict=False)), raw))
    return rows


def parse_alipay(text: str) -> list[Line]:
    """Alipay's 业务明细 bill: `#` comment lines around a header starting with 支付宝交易号."""
    return [
        Line(
            n,
            row["商户订单号"],
            _money(row["订单金额（元）"], n),
            "CNY",
            row["支付宝交易号"],
            row["业务类型"] == "交易",
            raw,
        )
        for n, row, raw in _rows(text, "支付宝交易号")
    ]


def parse_wechatpay(text: str) -> list[Line]:
    """WeChat Pay's 交易账单: every value prefixed with a backtick, a summary block after the details."""
    return [
        Line(
            n,
            row["商户订单号"],
            _money(row["订单金额"] if row.get("订单金额") else row["应结订单金额"], n),
            row.get("货币种类", "CNY") or "CNY",
            row["微信订单号"],
            row["交易状态"] == "SUCCESS",
            raw,
        )
        for n, row, raw in _rows(text, "交易时间")
    ]


def parse_plain(text: str) -> list[Line]:
    """Ours: `reference,amount,currency,transaction_id` with that header."""
    return [
        Line(
            n,
            row["reference"],
            _money(row["amount"], n),
            row["currency"].upper(),
            row.get("transaction_id", ""),
            True,
            raw,
        )
        for n, row, raw in _rows(text, "reference")
    ]


PARSERS = {"alipay": parse_alipay, "wechatpay": parse_wechatpay, "plain": parse_plain}


def settlement_import(*, source: str, file_name: str, content: bytes, actor: Actor) -> SettlementImport:
    """Read the file whole first (a malformed file changes nothing), then apply each paid line on its own."""
    from .services import _apply  # the callback path: locks order then payment, applies at most once

    try:
        lines = PARSERS[source](_decode(content))
    except KeyError as exc:  # a column the format must have is missing
        raise SettlementFileInvalid(_("Column %(c)s is missing.") % {"c": exc.args[0]}) from exc
    label, user = actor_parts(actor)
    results = []
    for line in lines:
        result = {"line": line.number, "reference": line.reference, "amount": f"{line.amount:.2f}"}
        payment = Payment.objects.filter(reference=line.reference).select_related("order").first()
        if not line.paid:
            result |= {"outcome": "skipped", "detail": "not a payment line (refund or closed)"}
        elif payment is None:
            result |= {"outcome": "unmatched", "detail": "no payment has this reference"}
        else:
            event = PaymentEvent.objects.create(
                gateway=payment.gateway,
                kind="settlement",
                body=line.raw,
                body_sha256=hashlib.sha256(line.raw.encode()).hexdigest(),
                reference=line.reference[:64],
                event_type=f"settlement:{source}",
                gateway_txn_id=line.txn_id[:128],
                amount=line.amount,
                currency=line.currency[:3],
                actor=label,
                user=user,
            )
            notification = Notification(
                reference=line.reference,
                outcome="success",
                event_type=f"settlement file {file_name}"[:60],
                gateway_txn_id=line.txn_id,
                amount=line.amount,
                currency=line.currency,
            )
            try:
                applied = _apply(payment, notification, event, actor)
            except ApplicationError as exc:  # this line only: the others, and the import's record, still count
                PaymentEvent.objects.filter(pk=event.pk).update(outcome="error", error=str(exc.detail)[:500])
                result |= {"outcome": "error", "detail": str(exc.detail), "order": payment.order.number}
            else:
                result |= {"outcome": applied.event.outcome, "detail": applied.message, "order": payment.order.number}
        results.append(result)
    counts = {
        outcome: sum(1 for r in results if r["outcome"] == outcome) for outcome in {r["outcome"] for r in results}
    }
    return SettlementImport.objects.create(
        source=source,
        file_name=file_name[:200],
        sha256=hashlib.sha256(content).hexdigest(),
        actor=label,
        user=user,
        counts=counts,
        results=results,
    )
