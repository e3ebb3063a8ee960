from decimal import Decimal

import factory
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from config.permissions import groups_sync
from inventory.models import Product, Warehouse
from inventory.services import stock_set_level
from orders.models import Coupon


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"W{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    priority = factory.Sequence(lambda n: n + 1)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Product {o.sku}")
    price = Decimal("99.00")
    currency = "CNY"
    max_quantity_per_order = 10


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"COUPON{n}")
    kind = "percent"
    value = Decimal("10")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    is_staff = True

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "pw")
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def group(self, create, extracted, **kwargs):
        if extracted:
            if not Group.objects.filter(name=extracted).exists():  # a transactional test flushed the migration's rows
                groups_sync(apps)
            self.groups.add(Group.objects.get(name=extracted))


def stock(product, warehouse, on_hand, reorder_point=0, location=""):
    """Stock set through the ledger, as the catalogue import does."""
    item, _ = stock_set_level(
        product=product,
        warehouse=warehouse,
        on_hand=on_hand,
        actor="test",
        reference="test",
        reorder_point=reorder_point,
        location=location,
    )
    return item
