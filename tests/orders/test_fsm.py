"""The README's order lifecycle table, table-driven: every legal move works and is logged,
every other (source, target) pair is refused and changes nothing."""

import pytest
from django.contrib.contenttypes.models import ContentType

from core.errors import InvalidTransition
from core.fsm import transition_apply
from core.models import TransitionLog
from orders.models import Order, OrderStatus, ReviewStatus

LEGAL = {
    ("pending", "confirmed"): "confirm",
    ("pending", "cancelled"): "cancel",
    ("pending", "closed"): "close",
    ("closed", "pending_restock"): "await_restock",
    ("cancelled", "pending_restock"): "await_restock",
    ("closed", "confirmed"): "confirm_late",
    ("cancelled", "confirmed"): "confirm_late",
    ("confirmed", "processing"): "start_processing",
    ("processing", "shipped"): "ship",
    ("shipped", "delivered"): "deliver",
    ("delivered", "completed"): "complete",
    ("confirmed", "refunded"): "refund",
    ("processing", "refunded"): "refund",
    ("pending_restock", "refunded"): "refund",
    ("pending_restock", "confirmed"): "allocate_restock",
    ("delivered", "refunded"): "refund",
    ("completed", "refunded"): "refund",
}
STATES = [s.value for s in OrderStatus]
TRANSITIONS_BY_TARGET = {}
for (_source, _target), _name in LEGAL.items():
    TRANSITIONS_BY_TARGET.setdefault(_target, set()).add(_name)
ILLEGAL = [(s, t) for s in STATES for t in STATES if s != t and (s, t) not in LEGAL]


def make_order(status, **extra):
    order = Order(
        status=status,
        customer_id="c1",
        customer_name="N",
        customer_email="n@example.com",
        customer_phone="+8613800138000",
        street="s",
        city="c",
        postal_code="1",
        country="CN",
        currency="CNY",
        subtotal="10.00",
        shipping="0.00",
        tax="0.00",
        discount="0.00",
        total="10.00",
        content_hash="x",
        **extra,
    )
    order.save()
    return order


def test_the_model_declares_exactly_the_lifecycle_table():
    declared = {(t.source, t.target): t.name for t in Order().get_all_status_transitions()}
    assert declared == LEGAL


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), sorted(LEGAL))
def test_legal_transition_succeeds_and_is_logged(source, target):
    order = make_order(source)
    transition_apply(order, LEGAL[source, target], actor="task:test", reason="table")
    order.save()
    order.refresh_from_db()
    assert order.status == target
    log = TransitionLog.objects.get(content_type=ContentType.objects.get_for_model(Order), object_id=str(order.pk))
    assert (log.field, log.source, log.target, log.actor, log.reason) == (
        "status",
        source,
        target,
        "task:test",
        "table",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_illegal_transition_is_refused_and_changes_nothing(source, target):
    order = make_order(source)
    for name in TRANSITIONS_BY_TARGET.get(target, set()) or {"confirm"}:
        with pytest.raises(InvalidTransition) as exc:
            transition_apply(order, name, actor="task:test")
        assert exc.value.extra == {"status": source}
    order.refresh_from_db()
    assert order.status == source
    assert not TransitionLog.objects.exists()


@pytest.mark.django_db
def test_held_order_cannot_start_processing_until_released():
    order = make_order(OrderStatus.CONFIRMED, review_status=ReviewStatus.HELD)
    with pytest.raises(InvalidTransition):
        transition_apply(order, "start_processing", actor="task:test")
    transition_apply(order, "release_review", actor="task:test")
    transition_apply(order, "start_processing", actor="task:test")
    assert order.status == OrderStatus.PROCESSING


@pytest.mark.django_db
def test_status_cannot_be_assigned_directly():
    order = make_order(OrderStatus.PENDING)
    with pytest.raises(AttributeError):
        order.status = OrderStatus.CONFIRMED
