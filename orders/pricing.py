"""Order pricing: plain Decimal arithmetic, every figure rounded half-up to cents."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

CENT = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Pricing:
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    discount: Decimal
    total: Decimal


def coupon_discount(*, kind: str, value: Decimal, subtotal: Decimal) -> Decimal:
    """Percent or fixed off the subtotal, never more than the subtotal."""
    amount = subtotal * value / Decimal(100) if kind == "percent" else value
    return min(round_money(amount), subtotal)


def shipping_fee(*, method: str, merchandise: Decimal) -> Decimal:
    """Express always costs its fee; standard is free from the threshold (after discount) up."""
    if method == "express":
        return round_money(settings.SHIPPING_EXPRESS_FEE)
    if merchandise >= settings.FREE_SHIPPING_THRESHOLD:
        return Decimal("0.00")
    return round_money(settings.SHIPPING_STANDARD_FEE)


def price_order(
    *,
    lines: list[tuple[Decimal, int]],
    shipping_method: str,
    coupon_kind: str | None = None,
    coupon_value: Decimal | None = None,
) -> Pricing:
    """`lines` are (unit_price, quantity); tax applies to the subtotal minus the discount."""
    subtotal = round_money(sum((round_money(price) * qty for price, qty in lines), Decimal(0)))
    discount = (
        coupon_discount(kind=coupon_kind, value=coupon_value, subtotal=subtotal) if coupon_kind else Decimal("0.00")
    )
    shipping = shipping_fee(method=shipping_method, merchandise=subtotal - discount)
    tax = round_money((subtotal - discount) * settings.TAX_RATE)
    total = round_money(subtotal + shipping + tax - discount)
    return Pricing(subtotal=subtotal, shipping=shipping, tax=tax, discount=discount, total=total)
