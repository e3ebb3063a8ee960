"""core.db.writes_at_end: the writes of a block wait and go out together, never past a savepoint's rollback, and
before an event's handlers read the database."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from core.db import insert_later, save_fields, writes_at_end, writes_flush
from inventory.models import Warehouse
from tests.factories import WarehouseFactory


def names() -> dict[str, str]:
    return dict(Warehouse.objects.values_list("code", "name"))


@pytest.mark.django_db
def test_the_blocks_writes_go_out_together_when_it_ends():
    a, b = WarehouseFactory(code="A"), WarehouseFactory(code="B")
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        with writes_at_end():
            a.name, b.name = "Shanghai", "Beijing"
            save_fields(a, ["name"])
            save_fields(b, ["name"])
            a.priority = 7
            save_fields(a, ["priority"])  # the same row again: one UPDATE of both fields
            insert_later([Warehouse(code="C", name="Guangzhou")])
            insert_later([Warehouse(code="D", name="Shenzhen")])
            assert captured.captured_queries == []  # nothing sent yet
        assert len(captured.captured_queries) == 1  # the three rows' changes and the two new rows
    assert names() == {"A": "Shanghai", "B": "Beijing", "C": "Guangzhou", "D": "Shenzhen"}
    assert Warehouse.objects.get(code="A").priority == 7


@pytest.mark.django_db
def test_a_write_inside_a_savepoint_is_undone_with_it():
    a, b = WarehouseFactory(code="A", name="before"), WarehouseFactory(code="B", name="before")
    with transaction.atomic(), writes_at_end():
        b.name = "kept"
        save_fields(b, ["name"])
        try:
            with transaction.atomic():  # a savepoint
                a.name = "rolled back"
                save_fields(a, ["name"])
                insert_later([Warehouse(code="C", name="rolled back")])
                raise ValueError
        except ValueError:
            pass
    assert names() == {"A": "before", "B": "kept"}


@pytest.mark.django_db
def test_nothing_is_written_when_the_block_fails():
    a = WarehouseFactory(code="A", name="before")
    with pytest.raises(ValueError), transaction.atomic(), writes_at_end():
        a.name = "after"
        save_fields(a, ["name"])
        raise ValueError
    assert names() == {"A": "before"}


@pytest.mark.django_db
def test_a_row_gone_fails_as_save_does():
    a = WarehouseFactory(code="A")
    Warehouse.objects.filter(pk=a.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic(), writes_at_end():
        a.name = "gone"
        save_fields(a, ["name"])


@pytest.mark.django_db
def test_what_waits_is_not_written_inside_a_savepoint_that_could_take_it_back():
    a = WarehouseFactory(code="A", name="before")
    with transaction.atomic(), writes_at_end():
        a.name = "after"
        save_fields(a, ["name"])
        with pytest.raises(RuntimeError), transaction.atomic():
            writes_flush()  # an event emitted here would have its handlers read what waits
        writes_flush()  # back at the block's level: written now
        assert names() == {"A": "after"}
