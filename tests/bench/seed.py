"""Seed the bench database: 10,000 products and a realistic history of 100,000 past orders."""

from django.db import connection

HOT_SKUS = ["HOT-1", "HOT-2", "HOT-3"]
OVERSELL_SKU = "HOT-1"


def seed(*, products: int = 10_000, history: int = 100_000, ledger: bool = True) -> None:
    """`ledger=False` leaves out the past orders' reservations, ledger rows and logs (the admin bench)."""
    with connection.cursor() as c:
        c.execute("SELECT id FROM django_content_type WHERE app_label = 'orders' AND model = 'order'")
        order_ct = c.fetchone()[0]
        c.execute(
            "INSERT INTO inventory_warehouse (code, name, priority, is_active, contact_name, phone, province, city, "
            "street, usual_carrier) VALUES ('SH', 'Shanghai DC', 1, true, '', '', '', '', '', ''), "
            "('GZ', 'Guangzhou DC', 2, true, '', '', '', '', '', '')"
        )
        c.execute(
            """
            INSERT INTO inventory_product (sku, name, price, currency, is_active, status, max_quantity_per_order,
                                           weight_grams, fragile, created_at, updated_at)
            SELECT 'SKU-' || lpad(g::text, 5, '0'), 'Product ' || g, (10 + g %% 290)::numeric(12, 2), 'CNY', true,
                   'active', 10, 500, false, now(), now()
            FROM generate_series(0, %s - 1) g
            UNION ALL
            SELECT s, 'Hot product ' || s, 99.00, 'CNY', true, 'active', 10, 500, false, now(), now()
            FROM unnest(%s::text[]) s
            """,
            [products, HOT_SKUS],
        )
        # Every product in SH; every tenth also in GZ (so allocation reads a second row).
        c.execute(
            """
            INSERT INTO inventory_stockitem (product_id, warehouse_id, on_hand, reserved, location, reorder_point)
            SELECT p.id, w.id, 10000000, 0, 'A-' || (p.id % 50), 0
            FROM inventory_product p JOIN inventory_warehouse w ON w.code = 'SH'
            UNION ALL
            SELECT p.id, w.id, 100, 0, 'B-' || (p.id % 50), 0
            FROM inventory_product p JOIN inventory_warehouse w ON w.code = 'GZ' WHERE p.id % 10 = 0
            """
        )
        c.execute(
            """
            INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta,
                                                 reference, actor, note, created_at)
            SELECT id, 'receipt', on_hand, on_hand, 0, 'seed', 'bench', '', now() - interval '60 days'
            FROM inventory_stockitem
            """
        )
        c.execute(
            """
            INSERT INTO orders_order (number, status, payment_status, shipping_status, review_status, customer_id,
                customer_name, customer_email, customer_phone, street, city, province, postal_code, country,
                shipping_method, language, currency, note, subtotal, shipping, tax, discount, total, content_hash,
                source, client_id,
                reservation_expires_at, created_at, updated_at, processing_seconds)
            SELECT 'H' || lpad(g::text, 7, '0') || '-SEED', 'completed', 'paid', 'delivered', 'clear',
                'hist-' || (g %% 20000), 'Customer ' || g, 'c' || (g %% 20000) || '@example.com', '+86138001' ||
                lpad((g %% 100000)::text, 5, '0'), '1 Road', 'Shanghai', 'Shanghai', '200000', 'CN', 'standard',
                'zh-hans', 'CNY', '', 198.00, 0.00, 0.00, 0.00, 198.00, md5(g::text), 'api:bench',
                (SELECT id FROM auth_user WHERE username = 'api:bench'),
                now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval,
                now() - (g || ' minutes')::interval, 60 + g %% 600
            FROM generate_series(1, %s) g
            """,
            [history],
        )
        c.execute(
            """
            INSERT INTO orders_orderitem (order_id, product_id, sku, name, unit_price, quantity, total_price)
            SELECT o.id, p.id, p.sku, p.name, p.price, 1, p.price
            FROM orders_order o CROSS JOIN LATERAL generate_series(0, o.id %% 3) k
            JOIN inventory_product p ON p.sku = 'SKU-' || lpad(((o.id * 7 + k * 3331) %% %s)::text, 5, '0')
            """,
            [products],
        )
    if not ledger:
        with connection.cursor() as c:
            c.execute("ANALYZE")
        return
    with connection.cursor() as c:
        c.execute("SELECT id FROM django_content_type WHERE app_label = 'orders' AND model = 'order'")
        order_ct = c.fetchone()[0]
        c.execute(
            """
            INSERT INTO inventory_reservation (holder, stock_item_id, quantity, expires_at, state, created_at,
                                               updated_at)
            SELECT o.number, s.id, i.quantity, o.created_at + interval '15 minutes', 'committed', o.created_at,
                   o.created_at
            FROM orders_orderitem i JOIN orders_order o ON o.id = i.order_id
            JOIN inventory_stockitem s ON s.product_id = i.product_id
            JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.code = 'SH'
            """
        )
        c.execute(
            """
            INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta,
                                                 reference, actor, note, created_at)
            SELECT r.stock_item_id, k.kind, r.quantity, k.oh * r.quantity, k.rs * r.quantity, r.holder, 'bench', '',
                   r.created_at
            FROM inventory_reservation r
            CROSS JOIN (VALUES ('reserve', 0, 1), ('release', 0, -1)) AS k(kind, oh, rs)
            """
        )
        c.execute(
            """
            INSERT INTO orders_transitionlog (content_type_id, object_id, object_repr, field, source, target,
                                              transition, actor, reason, created_at)
            SELECT %s, o.id::text, o.number, 'status', t.source, t.target, t.name, 'bench', '', o.created_at
            FROM orders_order o CROSS JOIN (VALUES ('', 'pending', 'place'), ('pending', 'confirmed', 'confirm'),
                ('confirmed', 'processing', 'start_processing')) AS t(source, target, name)
            """,
            [order_ct],
        )
        c.execute(
            """
            INSERT INTO orders_idempotencykey (client_id, key, request_hash, response_status, response_body,
                                               order_number, created_at)
            SELECT u.id, 'seed-' || o.id, md5(o.number), 201, '{}'::jsonb, o.number, o.created_at
            FROM orders_order o CROSS JOIN auth_user u WHERE u.username = 'api:bench' AND o.id <= 20000
            """
        )
    with connection.cursor() as c:
        c.execute("ANALYZE")


def seed_pending_payments(*, count: int) -> None:
    """`count` pending orders (one unit of one SKU reserved each) with a pending Stripe payment each."""
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO orders_order (number, status, payment_status, shipping_status, review_status, customer_id,
                customer_name, customer_email, customer_phone, street, city, province, postal_code, country,
                shipping_method, language, currency, note, subtotal, shipping, tax, discount, total, content_hash,
                source, client_id,
                reservation_expires_at, created_at, updated_at)
            SELECT 'PEND' || lpad(g::text, 7, '0'), 'pending', 'pending', 'unfulfilled', 'clear', 'pend-' || g,
                'Customer', 'p' || g || '@example.com', '+8613800138000', '1 Road', 'Shanghai', 'Shanghai', '200000',
                'CN', 'standard', 'zh-hans', 'CNY', '', 99.00, 0.00, 0.00, 0.00, 99.00, md5(g::text), 'api:bench',
                (SELECT id FROM auth_user WHERE username = 'api:bench'),
                now() + interval '1 day', now(), now()
            FROM generate_series(1, %s) g
            """,
            [count],
        )
        c.execute(
            """
            INSERT INTO orders_orderitem (order_id, product_id, sku, name, unit_price, quantity, total_price)
            SELECT o.id, p.id, p.sku, p.name, 99.00, 1, 99.00
            FROM orders_order o JOIN inventory_product p ON p.sku = 'SKU-' || lpad((o.id % 10000)::text, 5, '0')
            WHERE o.number LIKE 'PEND%'
            """
        )
        c.execute(
            """
            INSERT INTO inventory_reservation (holder, stock_item_id, quantity, expires_at, state, created_at,
                                               updated_at)
            SELECT o.number, s.id, 1, now() + interval '1 day', 'active', now(), now()
            FROM orders_order o JOIN orders_orderitem i ON i.order_id = o.id
            JOIN inventory_stockitem s ON s.product_id = i.product_id
            JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.code = 'SH'
            WHERE o.number LIKE 'PEND%'
            """
        )
        c.execute(
            """
            INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta,
                                                 reference, actor, note, created_at)
            SELECT stock_item_id, 'reserve', 1, 0, 1, holder, 'bench', '', now()
            FROM inventory_reservation WHERE holder LIKE 'PEND%'
            """
        )
        c.execute(
            """
            UPDATE inventory_stockitem s SET reserved = s.reserved + r.n
            FROM (SELECT stock_item_id, count(*) AS n FROM inventory_reservation WHERE holder LIKE 'PEND%'
                  GROUP BY stock_item_id) r
            WHERE r.stock_item_id = s.id
            """
        )
        c.execute(
            """
            INSERT INTO payments_payment (order_id, gateway, reference, amount, currency, status, refunded_amount,
                                          action, attention, created_at, updated_at)
            SELECT o.id, 'stripe', 'PB' || substr(o.number, 5), 99.00, 'CNY', 'pending', 0, '{}'::jsonb, '', now(),
                   now()
            FROM orders_order o WHERE o.number LIKE 'PEND%'
            """
        )
        c.execute("ANALYZE")
