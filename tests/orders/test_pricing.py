from decimal import Decimal

import pytest

from orders.pricing import price_order

D = Decimal


@pytest.fixture(autouse=True)
def fees(settings):
    settings.SHIPPING_STANDARD_FEE = D("10.00")
    settings.SHIPPING_EXPRESS_FEE = D("25.00")
    settings.FREE_SHIPPING_THRESHOLD = D("99.00")
    settings.TAX_RATE = D("0.00")


@pytest.mark.parametrize(
    ("lines", "method", "coupon", "tax_rate", "expected"),
    [
        # subtotal, shipping, tax, discount, total
        ([("99.00", 2)], "standard", None, "0", ("198.00", "0.00", "0.00", "0.00", "198.00")),
        ([("50.00", 1)], "standard", None, "0", ("50.00", "10.00", "0.00", "0.00", "60.00")),
        ([("98.99", 1)], "standard", None, "0", ("98.99", "10.00", "0.00", "0.00", "108.99")),
        ([("99.00", 1)], "standard", None, "0", ("99.00", "0.00", "0.00", "0.00", "99.00")),
        ([("99.00", 2)], "express", None, "0", ("198.00", "25.00", "0.00", "0.00", "223.00")),
        ([("99.00", 2)], "standard", ("percent", "10"), "0", ("198.00", "0.00", "0.00", "19.80", "178.20")),
        # the discount takes the order under the free-shipping threshold
        ([("100.00", 1)], "standard", ("fixed", "5.00"), "0", ("100.00", "10.00", "0.00", "5.00", "105.00")),
        # a fixed coupon never exceeds the subtotal
        ([("20.00", 1)], "express", ("fixed", "50.00"), "0", ("20.00", "25.00", "0.00", "20.00", "25.00")),
        ([("100.00", 1)], "standard", ("percent", "100"), "0", ("100.00", "10.00", "0.00", "100.00", "10.00")),
        # tax on subtotal minus discount, half-up: 178.20 * 0.13 = 23.166 -> 23.17
        ([("99.00", 2)], "standard", ("percent", "10"), "0.13", ("198.00", "0.00", "23.17", "19.80", "201.37")),
        # half-up rounding of the discount: 33.35 * 15% = 5.0025 -> 5.00; 0.05 * 50% = 0.025 -> 0.03
        ([("33.35", 1)], "express", ("percent", "15"), "0", ("33.35", "25.00", "0.00", "5.00", "53.35")),
        ([("0.05", 1)], "express", ("percent", "50"), "0", ("0.05", "25.00", "0.00", "0.03", "25.02")),
        # 12.35 * 0.06 = 0.741 -> 0.74 ; 0.125 rounds half-up to 0.13
        ([("12.35", 1)], "express", None, "0.06", ("12.35", "25.00", "0.74", "0.00", "38.09")),
        ([("2.50", 1)], "express", None, "0.05", ("2.50", "25.00", "0.13", "0.00", "27.63")),
    ],
)
def test_pricing_table(settings, lines, method, coupon, tax_rate, expected):
    settings.TAX_RATE = D(tax_rate)
    pricing = price_order(
        lines=[(D(p), q) for p, q in lines],
        shipping_method=method,
        coupon_kind=coupon[0] if coupon else None,
        coupon_value=D(coupon[1]) if coupon else None,
    )
    got = (pricing.subtotal, pricing.shipping, pricing.tax, pricing.discount, pricing.total)
    assert got == tuple(D(x) for x in expected)
    assert pricing.total == pricing.subtotal + pricing.shipping + pricing.tax - pricing.discount
    assert all(isinstance(x, Decimal) and x.as_tuple().exponent == -2 for x in got)
