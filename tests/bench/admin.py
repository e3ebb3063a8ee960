"""`make bench` (third part): the admin at 1,000,000 orders. Seeds a million orders by SQL, with what they leave
behind (the ledger and the transition log, a parcel, a payment and its callback, tracking events, messages,
webhooks), then times the order list with each filter and the search by order number, e-mail, phone and
tracking number, the staff home page and the other lists that grow with the orders, through Django's test client
in this process (server time: the request in full, rendering included). Prints the median of 3 and whether a
full COUNT(*) ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIG_TABLES = [  # a million rows or more at a million orders
    "orders_order",
    "orders_orderitem",
    "orders_transitionlog",
    "payments_payment",
    "payments_paymentevent",
    "fulfillment_shipment",
    "fulfillment_trackingevent",
    "inventory_reservation",
    "inventory_stockmovement",
    "notifications_notification",
    "webhooks_webhookevent",
    "webhooks_webhookdelivery",
]


def seed_related() -> None:
    """What a million orders leave behind besides their ledger: a parcel, a payment and its callback, two
    tracking events, two messages and an order.paid webhook each."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO fulfillment_shipment (status, priority, carrier, tracking_number, tracking_url, label,
                check_count, created_at, updated_at, order_id, warehouse_id, shipped_at, delivered_at)
            SELECT 'delivered', 0, 'sf', 'SF' || lpad(o.id::text, 12, '0'), '', '', 0, o.created_at, o.created_at,
                o.id, (SELECT id FROM inventory_warehouse WHERE code = 'SH'), o.created_at, o.created_at
            FROM orders_order o
            """
        )
        c.execute(
            """
            INSERT INTO payments_payment (order_id, gateway, reference, gateway_txn_id, amount, currency, status,
                refunded_amount, action, attention, created_at, updated_at, paid_at)
            SELECT o.id, 'alipay', 'PH' || lpad(o.id::text, 10, '0'), '2026' || lpad(o.id::text, 16, '0'), o.total,
                'CNY', 'paid', 0, '{}'::jsonb, '', o.created_at, o.created_at, o.created_at
            FROM orders_order o
            """
        )
        c.execute(
            """
            INSERT INTO payments_paymentevent (gateway, direction, kind, payment_id, reference, event_type,
                gateway_txn_id, amount, currency, headers, body, transmission_id, body_sha256, signature_valid,
                outcome, error, actor, received_at)
            SELECT 'alipay', 'in', 'callback', p.id, p.reference, 'TRADE_SUCCESS', p.gateway_txn_id, p.amount,
                'CNY', '{}'::jsonb, '', '', md5(p.reference), true, 'applied', '', 'alipay', p.paid_at
            FROM payments_payment p
            """
        )
        c.execute(
            """
            INSERT INTO fulfillment_trackingevent (occurred_at, status, location, description, carrier_event_id,
                recorded_at, shipment_id)
            SELECT s.created_at + k.after, k.status, 'Shanghai', k.status, k.status, s.created_at + k.after, s.id
            FROM fulfillment_shipment s CROSS JOIN (VALUES ('in_transit', interval '2 hours'),
                ('delivered', interval '1 day')) AS k(status, after)
            """
        )
        c.execute(
            """
            INSERT INTO notifications_notification (order_id, subject, event, channel, recipient, language, context,
                status, attempts, last_error, provider_message_id, due_at, sent_at, created_at)
            SELECT o.id, o.number, k.event, 'email', o.customer_email, 'zh-hans', '{}'::jsonb, 'sent', 1, '', '',
                o.created_at, o.created_at, o.created_at
            FROM orders_order o CROSS JOIN (VALUES ('order_placed'), ('payment_confirmed')) AS k(event)
            """
        )
        c.execute(
            """
            INSERT INTO webhooks_webhookendpoint (url, description, events, secret, status, created_at)
            VALUES ('https://erp.example.com/hooks', 'ERP', '[]'::jsonb, 'bench', 'active', now())
            """
        )
        c.execute(
            """
            INSERT INTO webhooks_webhookevent (message_id, type, body, created_at, order_id)
            SELECT 'msg_' || md5(o.number), 'order.paid', '{}', o.created_at, o.id FROM orders_order o
            """
        )
        c.execute(
            """
            INSERT INTO webhooks_webhookdelivery (status, attempts, next_attempt_at, last_attempt_at,
                last_response_status, created_at, order_id, endpoint_id, event_id)
            SELECT 'succeeded', 1, e.created_at, e.created_at, 200, e.created_at, e.order_id,
                (SELECT id FROM webhooks_webhookendpoint WHERE description = 'ERP'), e.id
            FROM webhooks_webhookevent e
            """
        )
        c.execute("ANALYZE")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--reuse", action="store_true", help="keep the database a previous run seeded")
    ap.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop_bench_admin"),
    )
    ap.add_argument("--out", help="also append the JSON lines to this file")
    args = ap.parse_args()
    os.environ.update(
        {
            "DATABASE_URL": args.database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
            "DEBUG": "false",
            "LOG_LEVEL": "ERROR",
        }
    )
    sys.path.insert(0, str(ROOT))
    if not args.reuse:
        from tests.bench.run import setup_database

        t0 = time.monotonic()
        setup_database(args.database_url, pending=0, history=args.orders)
        seed_related()
        print(f"# seeded {args.orders:,} orders and what they leave behind in {time.monotonic() - t0:.0f}s")
    else:
        import django

        django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    n = args.orders
    pages = [
        ("home (to-do lists)", "/admin/"),
        ("order list", "/admin/orders/order/"),
        ("filter status=completed", "/admin/orders/order/?status__exact=completed"),
        ("filter status=cancelled (none)", "/admin/orders/order/?status__exact=cancelled"),
        ("filter payment=paid", "/admin/orders/order/?payment_status__exact=paid"),
        ("filter shipping=delivered", "/admin/orders/order/?shipping_status__exact=delivered"),
        ("filter review=held (none)", "/admin/orders/order/?review_status__exact=held"),
        ("filter method=express (none)", "/admin/orders/order/?shipping_method__exact=express"),
        ("filter currency=CNY", "/admin/orders/order/?currency__exact=CNY"),
        (
            "filter two + date",
            "/admin/orders/order/?status__exact=completed&payment_status__exact=paid&created_at__year=2026",
        ),
        ("search number (full)", f"/admin/orders/order/?q=H{n // 2:07d}-SEED"),
        ("search number (part)", f"/admin/orders/order/?q={n // 3:07d}"),
        ("search e-mail", "/admin/orders/order/?q=c12345@example.com"),
        ("search phone", f"/admin/orders/order/?q=+86138001{54321:05d}"),
        ("search tracking number", f"/admin/orders/order/?q=SF{n // 4:012d}"),
        ("search name (no match)", "/admin/orders/order/?q=Nobody%20Here"),
        ("search a domain every order has", "/admin/orders/order/?q=example.com"),
        ("search a word 1 in 100 orders has", "/admin/orders/order/?q=c12"),
        ("order page", f"/admin/orders/order/{n // 2}/change/"),
        ("payment list", "/admin/payments/payment/"),
        ("payments: filter status=paid", "/admin/payments/payment/?status__exact=paid"),
        ("payments: search reference", f"/admin/payments/payment/?q=PH{n // 5:010d}"),
        ("payments: search order number", f"/admin/payments/payment/?q=H{n // 6:07d}-SEED"),
        ("payments: search transaction id", f"/admin/payments/payment/?q=2026{n // 7:016d}"),
        ("payment events", "/admin/payments/paymentevent/"),
        ("events: filter outcome=applied", "/admin/payments/paymentevent/?outcome__exact=applied"),
        ("events: search reference", f"/admin/payments/paymentevent/?q=PH{n // 8:010d}"),
        ("parcels", "/admin/fulfillment/shipment/"),
        ("parcels: filter status=delivered", "/admin/fulfillment/shipment/?status__exact=delivered"),
        ("parcels: scan tracking number", f"/admin/fulfillment/shipment/?q=SF{n // 9:012d}"),
        ("parcels: scan order number", f"/admin/fulfillment/shipment/?q=H{n // 10:07d}-SEED"),
        ("transition log", "/admin/core/transitionlog/"),
        ("log: search order number", f"/admin/core/transitionlog/?q=H{n // 11:07d}-SEED"),
        ("stock movements", "/admin/inventory/stockmovement/"),
        ("movements: search order number", f"/admin/inventory/stockmovement/?q=H{n // 12:07d}-SEED"),
        ("log: filter to=cancelled", "/admin/core/transitionlog/?target__exact=cancelled"),
        ("tracking events", "/admin/fulfillment/trackingevent/"),
        ("tracking: scan tracking number", f"/admin/fulfillment/trackingevent/?q=SF{n // 13:012d}"),
        ("messages", "/admin/notifications/notification/"),
        ("messages: filter language=en", "/admin/notifications/notification/?language__exact=en"),
        ("messages: search order number", f"/admin/notifications/notification/?q=H{n // 14:07d}-SEED"),
        ("webhook deliveries", "/admin/webhooks/webhookdelivery/"),
        ("deliveries: search order number", f"/admin/webhooks/webhookdelivery/?q=H{n // 15:07d}-SEED"),
        ("webhook events", "/admin/webhooks/webhookevent/"),
        ("reservations", "/admin/inventory/reservation/"),
        ("reservations: search order number", f"/admin/inventory/reservation/?q=H{n // 16:07d}-SEED"),
        ("order health (hour)", "/admin/order-health/"),
        ("order health (day)", "/admin/order-health/?range=day"),
        ("order health (week)", "/admin/order-health/?range=week"),
    ]
    lines = []
    for label, url in pages:
        times, status, count_star = [], None, False
        for _ in range(3):
            reset_queries()
            with CaptureQueriesContext(connection) as q:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
            status = response.status_code
            count_star = any(
                "COUNT(*)" in x["sql"].upper()
                and any(f'"{table}"' in x["sql"] for table in BIG_TABLES)
                and not {"WHERE", "LIMIT"} & set(x["sql"].upper().split())
                for x in q.captured_queries
            )
        line = {
            "run": "admin",
            "page": label,
            "status": status,
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "queries": len(q.captured_queries),
            "full_count": count_star,
        }
        print(json.dumps(line), flush=True)
        lines.append(line)
    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(x) + "\n" for x in lines)
    print(f"\nadmin at {n:,} orders                 median ms   max ms  queries  full COUNT(*)")
    for x in lines:
        print(f"{x['page']:<36} {x['median_ms']:>10} {x['max_ms']:>8} {x['queries']:>8}  {x['full_count']}")


if __name__ == "__main__":
    main()
