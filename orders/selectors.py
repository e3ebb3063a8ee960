"""Storefront reads. Every one is scoped to the storefront (client) asking: another's orders do not exist for it."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import Order


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.select_related("coupon").prefetch_related(
        "items", "payments", "shipments__events", "shipments__warehouse"
    )


def order_list(*, client: AbstractBaseUser, customer_id: str | None = None) -> QuerySet[Order]:
    qs = order_detail_queryset().filter(client=client).order_by("-created_at", "-id")
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    return qs


def order_get(*, client: AbstractBaseUser, number: str, detail: bool = True) -> Order:
    """The storefront's order NUMBER, or 404 `not_found` (also when another storefront placed it)."""
    qs = order_detail_queryset() if detail else Order.objects.only("pk", "number", "client_id")
    return get_object_or_404(qs, client=client, number=number)
