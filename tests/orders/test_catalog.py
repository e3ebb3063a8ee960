import json

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Product, StockItem, StockMovement, Warehouse
from orders.models import BlockedCustomer, Coupon

CATALOG = {
    "warehouses": [{"code": "SH", "name": "Shanghai DC", "priority": 1}, {"code": "GZ", "name": "GZ", "priority": 2}],
    "products": [
        {
            "sku": "SKU-001",
            "name": "Tea set",
            "price": "99.00",
            "currency": "CNY",
            "is_active": True,
            "max_quantity_per_order": 5,
            "weight_grams": 800,
            "stock": [
                {"warehouse": "SH", "on_hand": 100, "location": "A-01-03", "reorder_point": 10},
                {"warehouse": "GZ", "on_hand": 7},
            ],
        },
        {"sku": "SKU-002", "name": "Cup", "price": "12.50", "stock": []},
    ],
    "coupons": [
        {
            "code": "welcome10",
            "kind": "percent",
            "value": "10",
            "min_subtotal": "0.00",
            "valid_until": None,
            "max_uses": None,
        }
    ],
    "blocked_customers": ["Fraud@Example.com"],
}


def write(tmp_path, data, name="catalog.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def snapshot():
    return {
        "warehouses": list(Warehouse.objects.values().order_by("code")),
        "products": list(Product.objects.values().order_by("sku")),
        "stock": list(StockItem.objects.values().order_by("id")),
        "movements": list(StockMovement.objects.values("stock_item", "kind", "on_hand_delta").order_by("id")),
        "coupons": list(Coupon.objects.values().order_by("code")),
        "blocked": list(BlockedCustomer.objects.values_list("identifier", flat=True)),
    }


@pytest.mark.django_db
def test_loading_twice_gives_the_same_state_and_no_duplicate_ledger_rows(tmp_path, capsys):
    path = write(tmp_path, CATALOG)
    call_command("load_catalog", path)
    first = snapshot()
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "products: 2 created" in out[0]
    call_command("load_catalog", path)
    assert snapshot() == first
    assert StockMovement.objects.count() == 2
    assert Coupon.objects.get().code == "WELCOME10"
    assert first["blocked"] == ["fraud@example.com"]
    item = StockItem.objects.get(product__sku="SKU-001", warehouse__code="SH")
    assert (item.on_hand, item.reserved, item.location, item.reorder_point) == (100, 0, "A-01-03", 10)


@pytest.mark.django_db
def test_a_changed_level_moves_stock_through_the_ledger(tmp_path):
    call_command("load_catalog", write(tmp_path, CATALOG))
    changed = json.loads(json.dumps(CATALOG))
    changed["products"][0]["stock"][0]["on_hand"] = 90
    call_command("load_catalog", write(tmp_path, changed, "v2.json"))
    last = StockMovement.objects.order_by("-id").first()
    assert (last.kind, last.on_hand_delta, last.reference) == ("adjustment", -10, "v2.json")
    assert StockItem.objects.get(product__sku="SKU-001", warehouse__code="SH").on_hand == 90


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["products"][1].update(price="abc"), "products[1] (SKU-002): price"),
        (lambda c: c["products"][0]["stock"][0].update(warehouse="XX"), "unknown warehouse 'XX'"),
        (lambda c: c["coupons"][0].update(kind="bogus"), "coupons[0] (welcome10): kind"),
        (lambda c: c["products"].append(dict(c["products"][1])), "sku repeated: SKU-002"),
        (lambda c: c["products"][0]["stock"][1].update(on_hand=-1), "products[0] (SKU-001): stock"),
    ],
)
def test_a_malformed_file_writes_nothing_and_names_the_entry(tmp_path, mutate, message):
    data = json.loads(json.dumps(CATALOG))
    mutate(data)
    with pytest.raises(CommandError) as exc:
        call_command("load_catalog", write(tmp_path, data))
    assert message in str(exc.value)
    assert not Warehouse.objects.exists() and not Product.objects.exists() and not StockMovement.objects.exists()
    assert not Coupon.objects.exists() and not BlockedCustomer.objects.exists()


@pytest.mark.django_db
def test_invalid_json_is_refused(tmp_path):
    with pytest.raises(CommandError, match="cannot read JSON"):
        call_command("load_catalog", write(tmp_path, "{not json"))
