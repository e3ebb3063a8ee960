"""`make bench` (second part): the beat sweeps against a backlog, as deployed — a Celery worker (2 processes)
on the queue of the sweep, the sweep's task sent as the beat sends it, the beat running beside for the next
ticks. Each mode reports the seconds from the first tick until nothing is due.

  expiry         100,000 pending orders whose reservation ran out (one reserved unit each over 10,000 SKUs)
  notifications  the 100,000 "closed unpaid" e-mails that expiry queued, sent through Django's e-mail backend
  stale_payments 20,000 Stripe payments whose callback never came, asked about through the live Stripe client
                 of an emulator that answers each query in 50 ms ("succeeded"), each applied as a callback
                 would be (worker -c 4, SWEEP_WORKERS=4: the work waits on the network); its own database
  tracking       50,000 SF Express parcels in transit, all due their 4-hourly check at once, polled through the
                 live SF adapter against an emulator of SF's route query answering in 50 ms (one new route
                 each); worker -c 4, SWEEP_WORKERS=4; its own database
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker(env: dict, queues: str, concurrency: int = 2) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def beat(env: dict, schedule: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "WARNING", "-s", schedule],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)


def wait_until(count_left, total: int, limit: float) -> tuple[float, list[tuple[float, int]]]:
    """Poll the backlog once a second; answers (seconds until empty or the limit, the curve)."""
    t0 = time.monotonic()
    curve = []
    while True:
        left = count_left()
        elapsed = time.monotonic() - t0
        curve.append((round(elapsed, 1), left))
        if left == 0 or elapsed > limit:
            return elapsed, curve
        time.sleep(1)


def stripe_emulator(delay: float):
    """Stripe's PaymentIntent API as far as a query needs it: every intent `pi_<reference>` has succeeded,
    answered after `delay` seconds (a ThreadingHTTPServer: concurrent queries wait side by side)."""
    from tests.local_server import serving

    def respond(method, path, headers, body):
        time.sleep(delay)
        if method != "GET" or not path.startswith("/v1/payment_intents/pi_"):
            return 404, b'{"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}', {}
        intent = path.rsplit("/", 1)[1]
        answer = {
            "id": intent,
            "object": "payment_intent",
            "amount": 9900,
            "currency": "cny",
            "status": "succeeded",
            "metadata": {"reference": intent.removeprefix("pi_")},
            "last_payment_error": None,
        }
        return 200, json.dumps(answer).encode(), {}

    return serving(respond)


def fresh_database(args, pending: int):
    """A database of the mode's own: the catalogue, 10,000 past orders and `pending` unpaid ones."""
    import psycopg
    from django.db import connections

    from tests.bench.run import setup_database

    connections.close_all()
    setup_database(args.database_url, pending=pending, history=10_000, ledger=False)
    connections.close_all()
    return psycopg.connect(args.database_url.replace("postgres://", "postgresql://"), autocommit=True)


def stale_payments(args, env: dict, schedule: str) -> dict:
    conn = fresh_database(args, pending=args.stale)
    conn.execute(
        "UPDATE payments_payment SET created_at = now() - interval '1 hour', "
        "action = jsonb_build_object('payment_intent', 'pi_' || reference) WHERE status = 'pending'"
    )
    conn.execute("ANALYZE payments_payment")
    due = conn.execute("SELECT count(*) FROM payments_payment WHERE status = 'pending'").fetchone()[0]
    with stripe_emulator(args.gateway_ms / 1000) as url:
        live = {
            **env,
            "PAYMENTS_SANDBOX": "false",
            "STRIPE_API_URL": url,
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "SWEEP_WORKERS": "4",
        }
        procs = [worker(live, "callbacks", concurrency=4), beat(live, schedule)]
        time.sleep(3)
        from payments.tasks import query_stale_payments

        query_stale_payments.delay()
        seconds, curve = wait_until(
            lambda: conn.execute("SELECT count(*) FROM payments_payment WHERE status = 'pending'").fetchone()[0],
            due,
            900,
        )
        stop(*procs)
    paid = conn.execute("SELECT count(*) FROM payments_payment WHERE status = 'paid'").fetchone()[0]
    confirmed = conn.execute("SELECT count(*) FROM orders_order WHERE status = 'confirmed'").fetchone()[0]
    asked = conn.execute("SELECT count(*) FROM payments_paymentevent WHERE kind = 'query'").fetchone()[0]
    conn.close()
    return {
        "run": "sweep",
        "mode": "stale_payments",
        "due": due,
        "done": paid,
        "orders_confirmed": confirmed,
        "queries": asked,
        "gateway_ms": args.gateway_ms,
        "seconds": round(seconds, 1),
        "per_s": round(paid / seconds, 1),
        "curve": curve[:: max(1, len(curve) // 12)],
    }


def sf_emulator(delay: float):
    """SF Express's route query (EXP_RECE_SEARCH_ROUTES) as far as polling needs it: one new "in transit"
    route for the parcel asked about, after `delay` seconds. (The request's digest is not checked here.)"""
    from urllib.parse import parse_qs

    from tests.local_server import serving

    def respond(method, path, headers, body):
        time.sleep(delay)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        number = json.loads(form["msgData"])["trackingNumber"][0]
        route = {"acceptTime": time.strftime("%Y-%m-%d %H:%M:%S"), "opCode": "30", "acceptAddress": "上海"}
        result = {"success": True, "msgData": {"routeResps": [{"mailNo": number, "routes": [route]}]}}
        return 200, json.dumps({"apiResultCode": "A1000", "apiResultData": json.dumps(result)}).encode(), {}

    return serving(respond)


def tracking(args, env: dict, schedule: str) -> dict:
    conn = fresh_database(args, pending=args.parcels)
    conn.execute(
        "UPDATE orders_order SET status = 'shipped', payment_status = 'paid', shipping_status = 'in_transit' "
        "WHERE status = 'pending'"
    )
    conn.execute(
        """
        INSERT INTO fulfillment_shipment (status, priority, carrier, tracking_number, tracking_url, label,
            check_count, created_at, updated_at, order_id, warehouse_id, shipped_at, next_check_at)
        SELECT 'in_transit', 0, 'sf', 'SF' || lpad(o.id::text, 12, '0'), '', '', 0, now(), now(), o.id,
            (SELECT id FROM inventory_warehouse WHERE code = 'SH'), now() - interval '1 day', now()
        FROM orders_order o WHERE o.status = 'shipped'
        """
    )
    conn.execute("ANALYZE")
    due_now = "SELECT count(*) FROM fulfillment_shipment WHERE next_check_at <= now()"
    due = conn.execute(due_now).fetchone()[0]
    with sf_emulator(args.gateway_ms / 1000) as url:
        live = {**env, "SF_API_URL": url, "SF_PARTNER_ID": "BENCH", "SF_CHECKWORD": "bench", "SWEEP_WORKERS": "4"}
        procs = [worker(live, "tracking", concurrency=4), beat(live, schedule)]
        time.sleep(3)
        from fulfillment.tasks import poll_tracking

        poll_tracking.delay()
        seconds, curve = wait_until(lambda: conn.execute(due_now).fetchone()[0], due, 1800)
        stop(*procs)
    checked = conn.execute("SELECT count(*) FROM fulfillment_shipment WHERE check_count = 1").fetchone()[0]
    twice = conn.execute("SELECT count(*) FROM fulfillment_shipment WHERE check_count > 1").fetchone()[0]
    events = conn.execute("SELECT count(*) FROM fulfillment_trackingevent").fetchone()[0]
    conn.close()
    return {
        "run": "sweep",
        "mode": "tracking",
        "due": due,
        "done": checked,
        "checked_twice": twice,
        "events_stored": events,
        "gateway_ms": args.gateway_ms,
        "seconds": round(seconds, 1),
        "per_s": round(checked / seconds, 1),
        "curve": curve[:: max(1, len(curve) // 12)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--modes", default="expiry,notifications,stale_payments,tracking")
    ap.add_argument("--stale", type=int, default=20_000, help="stale_payments: how many")
    ap.add_argument("--gateway-ms", type=float, default=50, help="stale_payments, tracking: the emulators' answer time")
    ap.add_argument("--parcels", type=int, default=50_000, help="tracking: how many parcels in transit")
    ap.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop_bench")
    )
    ap.add_argument("--out", help="also append the JSON lines to this file")
    args = ap.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "EMAIL_URL": "memorymail://",  # Django's in-memory backend: the cost of our side of sending
        "DEBUG": "false",
        "LOG_LEVEL": "ERROR",
        "SWEEP_WORKERS": "2",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from tests.bench.run import setup_database

    modes = args.modes.split(",")

    setup_database(args.database_url, pending=args.count if {"expiry", "notifications"} & set(modes) else 0)
    import psycopg
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    dsn = args.database_url.replace("postgres://", "postgresql://")
    conn = psycopg.connect(dsn, autocommit=True)
    lines = []
    schedule = str(ROOT / "var" / "bench-celerybeat-schedule")
    Path(schedule).unlink(missing_ok=True)

    def report(line: dict) -> None:
        print(json.dumps(line), flush=True)
        lines.append(line)

    if "expiry" in modes:
        conn.execute(
            "UPDATE orders_order SET reservation_expires_at = now() - interval '1 minute' WHERE status = 'pending'"
        )
        conn.execute("ANALYZE orders_order")
        expired = conn.execute("SELECT count(*) FROM orders_order WHERE status = 'pending'").fetchone()[0]
        procs = [worker(env, "sweeps"), beat(env, schedule)]
        time.sleep(3)
        from orders.tasks import close_expired_orders

        close_expired_orders.delay()  # the beat's first tick (beat sends the next ones)
        seconds, curve = wait_until(
            lambda: conn.execute(
                "SELECT count(*) FROM inventory_reservation WHERE state = 'active' AND holder LIKE 'PEND%'"
            ).fetchone()[0],
            expired,
            600,
        )
        stop(*procs)
        ledger_ok = conn.execute(
            "SELECT count(*) = 0 FROM inventory_stockitem s LEFT JOIN (SELECT stock_item_id, sum(reserved_delta) r, "
            "sum(on_hand_delta) h FROM inventory_stockmovement GROUP BY stock_item_id) m ON m.stock_item_id = s.id "
            "WHERE s.reserved <> coalesce(m.r, 0) OR s.on_hand <> coalesce(m.h, 0)"
        ).fetchone()[0]
        closed = conn.execute("SELECT count(*) FROM orders_order WHERE status = 'closed'").fetchone()[0]
        report(
            {
                "run": "sweep",
                "mode": "expiry",
                "due": expired,
                "done": closed,
                "seconds": round(seconds, 1),
                "per_s": round(closed / seconds, 1),
                "ledger_matches": ledger_ok,
                "curve": curve[:: max(1, len(curve) // 12)],
            }
        )

    if "notifications" in modes:
        due = conn.execute("SELECT count(*) FROM notifications_notification WHERE status = 'queued'").fetchone()[0]
        redis.Redis.from_url(env["REDIS_URL"]).delete("notifications")  # the sweep alone, not the on-commit tasks
        procs = [worker(env, "notifications"), beat(env, schedule)]
        time.sleep(3)
        from notifications.tasks import sweep_notifications

        sweep_notifications.delay()
        seconds, curve = wait_until(
            lambda: conn.execute(
                "SELECT count(*) FROM notifications_notification WHERE status IN ('queued', 'sending')"
            ).fetchone()[0],
            due,
            900,
        )
        stop(*procs)
        sent = conn.execute("SELECT count(*) FROM notifications_notification WHERE status = 'sent'").fetchone()[0]
        report(
            {
                "run": "sweep",
                "mode": "notifications",
                "due": due,
                "done": sent,
                "seconds": round(seconds, 1),
                "per_s": round(sent / seconds, 1),
                "curve": curve[:: max(1, len(curve) // 12)],
            }
        )
    if "stale_payments" in modes:
        conn.close()
        report(stale_payments(args, env, schedule))
    if "tracking" in modes:
        report(tracking(args, env, schedule))
    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(x) + "\n" for x in lines)
    print("\nsweep          due       done    seconds   per second")
    for x in lines:
        print(f"{x['mode']:<14} {x['due']:>7} {x['done']:>10} {x['seconds']:>10} {x['per_s']:>12}")


if __name__ == "__main__":
    main()
