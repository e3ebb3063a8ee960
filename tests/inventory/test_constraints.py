"""The database itself refuses impossible stock, even for SQL written around the ORM."""

import pytest
from django.db import IntegrityError, connection, transaction


@pytest.mark.django_db
@pytest.mark.parametrize(
    "assignment",
    ["reserved = on_hand + 1", "on_hand = -1, reserved = 0", "reserved = -1", "on_hand = reserved - 1"],
)
def test_database_refuses_impossible_stock(product, assignment):
    item = product.stock_items.get()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE inventory_stockitem SET {assignment} WHERE id = %s", [item.pk])
    item.refresh_from_db()
    assert (item.on_hand, item.reserved) == (100, 0)
