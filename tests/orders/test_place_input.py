"""The placement body read plainly (orders.serializers.order_place_input) agrees with OrderPlaceInput: what it
accepts, DRF accepts, with the same values; everything else is decided (and worded) by DRF."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from orders.serializers import OrderPlaceInput, _Doubt, _order_place_plain, order_place_input
from tests.conftest import order_body


def plain(value):
    """Nested validated data as plain values, Decimals by their digits (1.0 and 1.00 differ here)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    return value


def both(data):
    try:
        mine = _order_place_plain(data)
    except _Doubt:
        mine = None
    serializer = OrderPlaceInput(data=data)
    return mine, serializer


def test_a_plainly_valid_body_is_read_without_drf_into_what_drf_reads():
    body = order_body(
        items=[
            {"sku": " SKU-1 ", "quantity": 3, "unit_price": "0.50"},
            {"sku": "SKU-2", "quantity": 100_000, "unit_price": "1234567890.00"},
        ],
        coupon_code=" welcome10 ",
        shipping_method="express",
        currency="cny",
        note="  请在工作日送货 ",
        allow_duplicate=True,
        language="en",
    )
    body["customer"]["email"] = " Zhang.San@Example.COM "
    body["customer"]["phone"] = "138 0013 8000"
    body["customer"]["address"]["country"] = "cn"
    mine, serializer = both(body)
    assert mine is not None
    assert serializer.is_valid(), serializer.errors
    assert plain(mine) == plain(serializer.validated_data)
    assert mine["customer"]["phone"] == "+8613800138000" and mine["coupon_code"] == "WELCOME10"
    minimal = order_body()
    mine, serializer = both(minimal)
    assert serializer.is_valid() and plain(mine) == plain(serializer.validated_data)
    assert "coupon_code" not in mine and "currency" not in mine and mine["note"] == ""


def test_anything_doubtful_is_refused_by_drf_in_the_contracts_words():
    body = order_body(items=[{"sku": "A", "quantity": 1, "unit_price": "1.00"}] * 2)
    with pytest.raises(ValidationError) as refused:
        order_place_input(body)
    assert "Each sku may appear once" in str(refused.value.detail)
    body = order_body(items=[{"sku": "A", "quantity": "2", "unit_price": 1}])
    with pytest.raises(ValidationError) as refused:
        order_place_input(body)
    assert set(refused.value.detail["items"][0]) == {"quantity", "unit_price"}
    accepted_by_drf_only = order_body()
    accepted_by_drf_only["customer"]["id"] = 42  # DRF's CharField takes a number as its text
    assert order_place_input(accepted_by_drf_only)["customer"]["id"] == "42"


texts = st.one_of(
    st.sampled_from(["", " ", "SKU-1", " sku-1 ", "A" * 65, "a\x00b", "CN", "cn", "C", "CNY", "usd", "+8613800138000"]),
    st.text(max_size=12),
)
weird = st.one_of(texts, st.none(), st.booleans(), st.integers(-2, 200_001), st.floats(allow_nan=False), st.just([]))


@st.composite
def bodies(draw):
    """Mostly valid bodies (valid in several spellings), each field now and then something else or missing."""

    def put(target, name, valid, edge=()):
        roll = draw(st.integers(0, 39))  # about one body in five comes out valid
        if roll == 0:
            target[name] = draw(weird)
        elif roll == 1:
            target.pop(name, None)
        elif roll == 2 and edge:
            target[name] = draw(st.sampled_from(edge))
        else:
            target[name] = draw(valid)

    items = [
        {
            "sku": draw(st.sampled_from([f"SKU-{i}", f" SKU-{i} ", "SKU-1"])),
            "quantity": draw(st.sampled_from([1, 2, 100_000])),
            "unit_price": draw(st.sampled_from(["99.00", "0.00", "1234567890.00", "01.00"])),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    for item in items:
        put(item, "sku", st.just(item["sku"]))
        put(item, "quantity", st.integers(1, 100_000), edge=[0, -1, 100_001, True, 2.0, "2"])
        put(
            item,
            "unit_price",
            st.sampled_from(["5.00", "99.00", "0001.00"]),
            edge=["1.5", "12345678901.00", "1e2", "-1.00", 5],
        )
    body = order_body(items=items)
    customer, address = body["customer"], body["customer"]["address"]
    put(customer, "id", st.sampled_from(["c-1", " c-2 ", "x" * 64]), edge=["x" * 65, "", " ", 42])
    put(customer, "name", st.sampled_from(["张三", " Li Si "]), edge=["n" * 201, "a\x00b", "\ud800"])
    put(
        customer, "email", st.sampled_from(["a@example.com", " A@Example.COM "]), edge=["not-an-email", "a@b", "a@b..c"]
    )
    put(customer, "phone", st.sampled_from(["+8613800138000", "138 0013 8000"]), edge=["12345", "+1 415 555 2671"])
    put(address, "street", st.sampled_from(["1 Road", " 2 Road "]), edge=["", "s" * 256])
    put(address, "province", st.sampled_from(["", " ", "Shanghai"]), edge=[None, "p" * 101])
    put(address, "postal_code", st.sampled_from(["200120", " 200120 "]), edge=["2" * 21, 200120])
    put(address, "country", st.sampled_from(["CN", "cn", " CN "]), edge=["US", "C", "CHN", "C1"])
    for name, valid, edge in [
        ("coupon_code", st.sampled_from([None, "", " welcome10 "]), ["X" * 41, 10]),
        ("shipping_method", st.sampled_from(["standard", "express"]), ["EXPRESS", None]),
        ("currency", st.sampled_from(["CNY", "usd"]), ["US", "C1Y"]),
        ("note", st.sampled_from(["", "  请在工作日送货 "]), ["n" * 501, None]),
        ("allow_duplicate", st.booleans(), ["true", 1, None]),
        ("language", st.sampled_from(["en", "zh-hans"]), ["fr", "EN"]),
    ]:
        if draw(st.booleans()):
            put(body, name, valid, edge)
    return body


MISSING = object()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_whatever_is_read_plainly_drf_accepts_with_the_same_values(body):
    mine, serializer = both(body)
    valid = serializer.is_valid()
    if mine is not None:
        assert valid, serializer.errors
        assert plain(mine) == plain(serializer.validated_data)
    event("read plainly" if mine is not None else "valid for DRF only" if valid else "refused")


REFUSED = [
    (("items", 0, "quantity"), 0),
    (("items", 0, "quantity"), 2.0),
    (("items", 0, "quantity"), True),
    (("items", 0, "unit_price"), "1.5"),
    (("items", 0, "unit_price"), "12345678901.00"),
    (("items", 0, "sku"), " "),
    (("customer", "id"), "x" * 65),
    (("customer", "name"), "a\x00b"),
    (("customer", "email"), "a@b"),
    (("customer", "phone"), "12345"),
    (("customer", "address", "country"), "CHN"),
    (("customer", "address", "postal_code"), "2" * 21),
    (("coupon_code",), "X" * 41),
    (("coupon_code",), False),
    (("shipping_method",), "EXPRESS"),
    (("currency",), "C1Y"),
    (("note",), None),
    (("allow_duplicate",), None),
    (("language",), "EN"),
]


@pytest.mark.parametrize(("path", "value"), REFUSED)
def test_each_rule_still_refuses(path, value):
    body = order_body()
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        order_place_input(body)
