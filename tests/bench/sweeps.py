"""`make bench` (second part): the beat sweeps against a backlog, as deployed — a Celery worker (2 processes)
on the queue of the sweep, the sweep's task sent as the beat sends it, the beat running beside for the next
ticks. Each mode reports the seconds from the first tick until nothing is due.

  expiry         100,000 pending orders whose reservation ran out (one reserved unit each over 10,000 SKUs)
  notifications  the 100,000 "closed unpaid" e-mails that expiry queued, sent through Django's e-mail backend
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--modes", default="expiry,notifications")
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

    setup_database(args.database_url, pending=args.count)
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

    if "expiry" in args.modes:
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
                "closed": closed,
                "seconds": round(seconds, 1),
                "per_s": round(closed / seconds, 1),
                "ledger_matches": ledger_ok,
                "curve": curve[:: max(1, len(curve) // 12)],
            }
        )

    if "notifications" in args.modes:
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
                "sent": sent,
                "seconds": round(seconds, 1),
                "per_s": round(sent / seconds, 1),
                "curve": curve[:: max(1, len(curve) // 12)],
            }
        )
    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(x) + "\n" for x in lines)
    print("\nsweep          due       done    seconds   per second")
    for x in lines:
        print(f"{x['mode']:<13} {x['due']:>7} {x.get('closed', x.get('sent')):>10} {x['seconds']:>10} {x['per_s']:>12}")


if __name__ == "__main__":
    main()
