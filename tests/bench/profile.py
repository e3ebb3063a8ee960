"""cProfile of placements (or, with --callbacks, of answering Stripe callbacks) in-process, through Django's
test client, against the database `tests.bench.run` seeded (run that first): prints each statement of one
request, then the top of the profile.

    python -m tests.bench.profile [requests] [--callbacks | --inbox] [--cpu] [--webhook]   (default 300)
    python -m tests.bench.profile [callbacks] --inbox --processes 2   (drained by runs side by side)
    python -m tests.bench.profile --health-check   (a request's first query after the last, both backends)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("placements", nargs="?", type=int, default=300)
    ap.add_argument("--callbacks", action="store_true", help="answer callbacks (pending payments PB0090001 on)")
    ap.add_argument("--inbox", action="store_true", help="apply answered callbacks (pending payments PB0095001 on)")
    ap.add_argument("--first", type=int, help="callbacks pay pending payments from this one (a second run)")
    ap.add_argument(
        "--processes", type=int, help="with --inbox: drain with this many processes side by side, no profiler"
    )
    ap.add_argument("--health-check", action="store_true", help="config.postgres's health check against Django's")
    ap.add_argument(
        "--cpu", action="store_true", help="no profiler: wall time, this process's and PostgreSQL's CPU per request"
    )
    ap.add_argument(
        "--webhook",
        action="store_true",
        help="with a webhook endpoint for every event (an ERP's), removed afterwards; nothing is delivered",
    )
    args = ap.parse_args()
    os.environ.update(
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop_bench"),
        DJANGO_SETTINGS_MODULE="config.settings.local",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        API_THROTTLE_RATE="1000000/min",
        CALLBACK_THROTTLE_RATE="1000000/min",
        DEBUG="false",
        LOG_LEVEL="ERROR",
    )
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import django

    django.setup()
    if args.health_check:
        health_check(5000)
        return
    from orders.services import storefront_key_issue

    _key, token = storefront_key_issue(name=f"profile-{time.time()}")
    if args.webhook:
        from webhooks.services import webhook_endpoint_add

        endpoint = webhook_endpoint_add(url="http://127.0.0.1:9/profile", description="tests.bench.profile")
        try:
            profile_requests(args, token)
        finally:
            endpoint.delete()  # its deliveries with it; the events stay, as a sent event's would
        return
    profile_requests(args, token)


def profile_requests(args, token: str) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.bench.run import order_payload, pick_items

    count = args.placements
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    rng = random.Random(1)
    run = f"{time.time()}"

    def place(i: int) -> None:
        body = json.dumps(order_payload(pick_items("spread", rng), f"profile-{run}-{i}"))
        response = client.post(
            "/api/v1/orders/", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"profile-{run}-{i}"
        )
        assert response.status_code == 201, response.content

    gateway = Client()  # one client: each new one loads the middleware again (WhiteNoise scans the static files)

    def post_callback(headers: dict, body: str) -> None:
        response = gateway.post(
            "/api/v1/payments/callbacks/stripe/",
            body,
            content_type=headers["Content-Type"],
            headers={k: v for k, v in headers.items() if k != "Content-Type"},
        )
        assert response.status_code == 200, response.content

    def report(first, rest, what: str) -> None:
        """Print the statements of `first()`, then the profile of `rest()` (`count` of `what`)."""
        with CaptureQueriesContext(connection) as captured:
            first()
        for query in captured.captured_queries:
            print(" ".join(query["sql"].split())[:160])
        if args.cpu:  # what cProfile's overhead hides: the Python against the database's share, as they run
            pid = connection.connection.info.backend_pid
            pg0, cpu0, wall0 = backend_cpu(pid), time.process_time(), time.perf_counter()
            rest()
            per = [time.perf_counter() - wall0, time.process_time() - cpu0, backend_cpu(pid) - pg0]
            wall, app, pg = (v / count * 1000 for v in per)
            print(f"\n{count} {what}: wall {wall:.2f} ms, this process's CPU {app:.2f} ms, PostgreSQL's {pg:.2f} ms")
            return
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        rest()
        profile.disable()
        print(f"\n{count} {what}, {(time.perf_counter() - started) / count * 1000:.2f} ms each under cProfile\n")
        if os.environ.get("PROFILE_OUT"):  # for pstats' callers/callees, or snakeviz
            profile.dump_stats(os.environ["PROFILE_OUT"])
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(45)
        print(out.getvalue())

    if args.inbox:
        from django.conf import settings

        from payments.services import payments_inbox_batch
        from tests.bench.run import prepare_callbacks

        settings.PAYMENTS_CALLBACKS_APPLIED = "worker"
        for headers, body in prepare_callbacks(args.first or 95_001, count + 1):
            post_callback(headers, body)

        if args.processes:
            drain_side_by_side(args.processes, count + 1)
            return

        def drain() -> None:
            while payments_inbox_batch(50):
                pass

        report(lambda: payments_inbox_batch(1), drain, "callbacks applied")
        return
    if args.callbacks:
        from tests.bench.run import prepare_callbacks

        callbacks = prepare_callbacks(args.first or 90_001, count + 21)

        def place(i: int) -> None:  # the request profiled is a callback
            post_callback(*callbacks[min(i, 20) if i < 100 else 21 + i - 100])

    for i in range(20):
        place(i)

    def rest() -> None:
        for i in range(count):
            place(100 + i)

    report(lambda: place(20), rest, "callbacks" if args.callbacks else "placements")


def drain_side_by_side(processes: int, count: int) -> None:
    """The inbox drained by `processes` forked processes, each running batches as the task does until the inbox
    is empty: applies a second, and how many payments each process locked to find their callbacks taken."""
    import multiprocessing as mp

    from django.db import connections

    connections.close_all()  # each child opens its own
    fork = mp.get_context("fork")
    out = fork.Queue()
    started = time.monotonic()
    children = [fork.Process(target=drain_counted, args=(out,)) for _ in range(processes)]
    for child in children:
        child.start()
    results = [out.get() for _ in children]
    for child in children:
        child.join()
    seconds = time.monotonic() - started
    print(f"\n{count} callbacks applied by {processes} processes in {seconds:.2f} s: {count / seconds:.0f} a second")
    for r in results:
        print(f"  locked {r['locked']} payments, {r['taken']} of them found taken or held; CPU {r['cpu']:.2f} s")


def drain_counted(out) -> None:
    from payments import services

    counts = {"locked": 0, "taken": 0}
    locks = services.inbox_apply_locks

    def counted(**kwargs):
        result = locks(**kwargs)
        counts["locked"] += 1
        counts["taken"] += result is None or not result[2]
        return result

    services.inbox_apply_locks = counted
    cpu, idle = time.process_time(), 0
    while idle < 3:  # the other processes may still hold the last payments
        if services.payments_inbox_batch(50):
            idle = 0
        else:
            idle += 1
            time.sleep(0.05)
    out.put({**counts, "cpu": time.process_time() - cpu})


def health_check(rounds: int) -> None:
    """What a request's end and the next one's first query cost on a persistent connection, with the health
    check of config.postgres (no round trip on a quiet connection) and with Django's (SELECT 1 each time):
    wall time, this process's CPU and the PostgreSQL backend's CPU (from /proc), per request."""
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper as Django

    for label in ("config.postgres", "Django's", "config.postgres", "Django's"):
        conn = connections.create_connection("default")
        if label == "Django's":
            conn.__class__ = Django
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        pg0, cpu0, wall0 = backend_cpu(pid), time.process_time(), time.perf_counter()
        for _ in range(rounds):
            conn.close_if_unusable_or_obsolete()  # a request ends (request_finished)
            with conn.cursor() as cursor:  # the next one's first query
                cursor.execute("SELECT 42")
        per = {
            "wall": time.perf_counter() - wall0,
            "app CPU": time.process_time() - cpu0,
            "PostgreSQL CPU": backend_cpu(pid) - pg0,
        }
        print(f"{label:16}", ", ".join(f"{k} {v / rounds * 1e6:.0f} µs" for k, v in per.items()), "per request")
        conn.close()


def backend_cpu(pid: int) -> float:
    """CPU seconds a PostgreSQL backend on this machine has used (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
