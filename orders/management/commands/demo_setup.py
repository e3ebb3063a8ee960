"""Demo data for `make run`: the demo catalogue, one staff user per group, a storefront token, and orders in
several states (payments and shipments are added by `demo_payments` and `demo_fulfillment`, which belong to
the apps above orders)."""

import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

from inventory.models import Product
from orders.models import Order
from orders.services import order_cancel, order_comment_add, order_place, storefront_key_issue

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "demo_catalog.json"
# (customer id, name, e-mail, items, shipping method, what happens next in the demo)
DEMO_ORDERS = [
    ("demo-li", "李伟", "li.wei@example.com", [("TEA-SET-01", 1), ("GAIWAN-WHT", 2)], "express", "ship"),
    ("demo-wang", "王芳", "wang.fang@example.com", [("LONGJING-250", 2)], "standard", "pick"),
    ("demo-zhang", "Zhang San", "zhang.san@example.com", [("PUER-CAKE", 1)], "standard", "refund"),
    ("demo-chen", "陈静", "chen.jing@example.com", [("LONGJING-250", 1)], "standard", "pending"),
    ("demo-liu", "Liu Yang", "liu.yang@example.com", [("TEA-SET-01", 2)], "express", "cancel"),
    ("demo-zhao", "赵敏", "zhao.min@example.com", [("LONGJING-250", 1), ("GAIWAN-WHT", 1)], "standard", "deliver"),
    ("demo-sun", "孙丽", "sun.li@example.com", [("GAIWAN-WHT", 1)], "standard", "backorder"),
]
STAFF = [
    ("admin", "admin-demo-pass", None),
    ("cs", "cs-demo-pass", "Customer service"),
    ("finance", "finance-demo-pass", "Finance"),
    ("warehouse", "warehouse-demo-pass", "Warehouse"),
]


def _customer(customer_id, name, email):
    address = {"street": "88 Century Ave", "city": "Shanghai", "province": "Shanghai", "postal_code": "200120"}
    return {
        "id": customer_id,
        "name": name,
        "email": email,
        "phone": "+8613800138000",
        "address": {**address, "country": "CN"},
    }


def _items(lines):
    prices = dict(Product.objects.filter(sku__in=[sku for sku, _q in lines]).values_list("sku", "price"))
    return [{"sku": sku, "quantity": qty, "unit_price": prices[sku]} for sku, qty in lines]


class Command(BaseCommand):
    help = "Load demo data and print the demo logins (never use in production)."

    def handle(self, *args, **options):
        call_command("load_catalog", str(DEMO_CATALOG), stdout=self.stdout)
        User = get_user_model()
        lines = []
        for username, password, group in STAFF:
            user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            user.is_staff = True
            user.is_superuser = group is None
            user.set_password(password)
            user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            lines.append(f"  {username:<10} {password:<22} {group or 'superuser'}")
        api_key, key = storefront_key_issue(name="demo-storefront")  # keys are kept hashed: a new one each run
        if not Order.objects.exists():
            self._orders(client=api_key.client, cs=User.objects.get(username="cs"))
        port = os.environ.get("PORT", "8000")
        self.stdout.write(f"\nDemo staff logins for http://127.0.0.1:{port}/admin/ :\n" + "\n".join(lines))
        self.stdout.write(f"Demo storefront API token: Authorization: Token {key}\n")

    def _orders(self, *, client, cs):
        """Orders to look at: `demo_payments` pays, refunds and `demo_fulfillment` ships them by their note."""
        for customer_id, name, email, lines, method, plan in DEMO_ORDERS:
            order = order_place(
                client=client,
                customer=_customer(customer_id, name, email),
                items=_items(lines),
                shipping_method=method,
                note=f"demo:{plan}",
            )
            if plan == "cancel":
                order_cancel(number=order.number, actor=cs, reason="Customer ordered twice by mistake")
            if plan == "pick":
                order_comment_add(number=order.number, text="Customer asks for delivery after 18:00.", actor=cs)
        customer_id, name, email, lines, _method, _plan = DEMO_ORDERS[3]  # 陈静's pending order
        for _ in range(3):  # the same order again and again: the fourth is held for review
            order_place(
                client=client,
                customer=_customer(customer_id, name, email),
                items=_items(lines),
                allow_duplicate=True,
                note="demo:pending",
            )
        self.stdout.write(f"Demo orders: {Order.objects.count()} placed\n")
