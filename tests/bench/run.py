"""`make bench`: order placement over HTTP against gunicorn + PostgreSQL, next to a raw-SQL baseline.

Each mode runs the app and, in turns with it (`--rounds`), a minimal psycopg transaction that writes the same
rows (idempotency key, order, items, transition log, conditional stock UPDATEs, reservations, ledger rows),
with the same number of client processes, so only the ratio within one run is compared. The burst runs as
deployed: the gateways' callbacks on a gunicorn of their own with the larger CPU weight (both share this
host), the follow-ups' worker (its own machines) stopped until the inbox is drained; `--storefront-nice 0`
gives equal weights, `--no-callbacks-apart --no-followups-apart` one gunicorn and the follow-ups beside.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPREAD_SKUS = 10_000
HOT = ["HOT-1", "HOT-2", "HOT-3"]


def price_of(sku: str) -> str:
    return "99.00" if sku.startswith("HOT") else f"{10 + int(sku[4:]) % 290}.00"


def pick_items(mode: str, rng: random.Random) -> list[dict]:
    pool = HOT if mode in ("hot", "oversell") else None
    k = 1 if mode == "oversell" else rng.randint(1, 3)
    skus = rng.sample(pool, k) if pool else [f"SKU-{n:05d}" for n in rng.sample(range(SPREAD_SKUS), k)]
    if mode == "oversell":
        skus = ["HOT-1"]
    return [
        {"sku": s, "quantity": 1 if mode == "oversell" else rng.randint(1, 2), "unit_price": price_of(s)} for s in skus
    ]


def order_payload(items: list[dict], customer: str) -> dict:
    return {
        "customer": {
            "id": customer,
            "name": "张三",
            "email": f"{customer}@example.com",
            "phone": "+8613800138000",
            "address": {
                "street": "88 Century Ave",
                "city": "Shanghai",
                "province": "Shanghai",
                "postal_code": "200120",
                "country": "CN",
            },
        },
        "items": items,
    }


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, math.ceil(p / 100 * len(values)) - 1))] * 1000, 1)


# --- HTTP clients against the app ------------------------------------------------------------------------------
def post(conn, port, path, body, headers):
    """One keep-alive POST; a closed or failed connection is replaced (a failure counts as status 599)."""
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        data, status = resp.read(), resp.status
        if not resp.will_close:
            return conn, status, data
    except (OSError, http.client.HTTPException) as exc:
        status, data = 599, repr(exc).encode()
    conn.close()
    return http.client.HTTPConnection("127.0.0.1", port, timeout=30), status, data


def http_client(idx, mode, port, token, warmup, duration, max_requests, barrier, out, release):
    rng = random.Random(idx * 7919 + hash(mode) % 1000)
    run = uuid.uuid4().hex[:8]
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, codes, errors, units = [], Counter(), Counter(), 0
    barrier.wait()
    start = time.monotonic() + warmup
    end = start + duration
    n = 0
    while time.monotonic() < end and n < max_requests:
        items = pick_items(mode, rng)
        body = json.dumps(order_payload(items, f"b-{run}-{idx}-{n}"))
        t0 = time.monotonic()
        conn, status, data = post(
            conn, port, "/api/v1/orders/", body, {**headers, "Idempotency-Key": f"{run}-{idx}-{n}"}
        )
        t1 = time.monotonic()
        n += 1
        if mode == "oversell" or t0 >= start:
            lat.append(t1 - t0)
            codes[status] += 1
            if status == 201:
                units += sum(i["quantity"] for i in items)
            elif status != 409:
                errors[data[:120].decode(errors="replace")] += 1
    out.put({"lat": lat, "codes": dict(codes), "errors": dict(errors), "units": units})


# --- the raw-SQL baseline: the same rows, the fewest round trips ---------------------------------------------------
def sql_client(idx, mode, dsn, ctx, warmup, duration, barrier, out, release):
    import psycopg

    rng = random.Random(idx * 104729 + 1)
    run = uuid.uuid4().hex[:8]
    lat, codes = [], Counter()
    with psycopg.connect(dsn) as conn:
        stock = dict(
            conn.execute(
                "SELECT p.sku, s.id FROM inventory_stockitem s JOIN inventory_product p ON p.id = s.product_id "
                "JOIN inventory_warehouse w ON w.id = s.warehouse_id AND w.code = 'SH'"
            ).fetchall()
        )
        product = dict(conn.execute("SELECT sku, id FROM inventory_product").fetchall())
        barrier.wait()
        start = time.monotonic() + warmup
        end = start + duration
        n = 0
        while time.monotonic() < end:
            items = pick_items(mode, rng)
            number = f"B{run}{idx:02d}{n:06d}"[:20]
            t0 = time.monotonic()
            ok = place_raw(conn, ctx, items, number, stock, product, f"{run}-{idx}-{n}")
            t1 = time.monotonic()
            n += 1
            if t0 >= start:
                lat.append(t1 - t0)
                codes[201 if ok else 409] += 1
        out.put({"lat": lat, "codes": dict(codes), "errors": {}, "units": 0})
        release.wait(60)  # keep the backend alive until its CPU time has been read


def place_raw(conn, ctx, items, number, stock, product, key) -> bool:
    rows = sorted((stock[i["sku"]], i["quantity"], i) for i in items)
    with conn.pipeline():
        conn.execute("BEGIN")
        results = []
        for item_id, q, _i in rows:
            results.append(
                conn.cursor().execute(
                    "UPDATE inventory_stockitem SET reserved = reserved + %s "
                    "WHERE id = %s AND on_hand - reserved >= %s RETURNING id",
                    (q, item_id, q),
                )
            )
    hit = [c.fetchone() is not None for c in results]
    if not all(hit):
        conn.execute("ROLLBACK")
        return False
    skus = [i["sku"] for _id, _q, i in rows]
    with conn.pipeline():
        conn.execute(
            """
            WITH o AS (
              INSERT INTO orders_order (number, status, payment_status, shipping_status, review_status, customer_id,
                customer_name, customer_email, customer_phone, street, city, province, postal_code, country,
                shipping_method, language, currency, note, subtotal, shipping, tax, discount, total, content_hash,
                source,
                reservation_expires_at, created_at, updated_at)
              VALUES (%(number)s, 'pending', 'pending', 'unfulfilled', 'clear', %(number)s, 'N', 'n@example.com',
                '+8613800138000', 's', 'c', 'p', '200120', 'CN', 'standard', 'zh-hans', 'CNY', '', 1, 0, 0, 0, 1, 'x',
                'raw',
                now() + interval '15 minutes', now(), now())
              RETURNING id, number),
            i AS (
              INSERT INTO orders_orderitem (order_id, product_id, sku, name, unit_price, quantity, total_price)
              SELECT o.id, x.pid, x.sku, x.sku, 1, x.q, x.q FROM o, unnest(%(pids)s::bigint[], %(skus)s::text[],
                %(qs)s::int[]) AS x(pid, sku, q)),
            t AS (
              INSERT INTO orders_transitionlog (content_type_id, object_id, object_repr, field, source, target,
                transition, actor, reason, created_at)
              SELECT %(ct)s, o.id::text, o.number, 'status', '', 'pending', 'place', 'raw', '', now() FROM o),
            r AS (
              INSERT INTO inventory_reservation (holder, stock_item_id, quantity, expires_at, state, created_at,
                updated_at)
              SELECT o.number, x.sid, x.q, now() + interval '15 minutes', 'active', now(), now()
              FROM o, unnest(%(sids)s::bigint[], %(qs)s::int[]) AS x(sid, q)),
            m AS (
              INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta,
                reference, actor, note, created_at)
              SELECT x.sid, 'reserve', x.q, 0, x.q, o.number, 'raw', '', now()
              FROM o, unnest(%(sids)s::bigint[], %(qs)s::int[]) AS x(sid, q)),
            nt AS (
              INSERT INTO notifications_notification (order_id, subject, event, channel, recipient, language, context,
                status, attempts, last_error, provider_message_id, due_at, created_at)
              SELECT o.id, o.number, 'order_placed', 'email', 'n@example.com', 'zh-hans', '{}', 'queued', 0, '', '',
                now(), now() FROM o)
            INSERT INTO orders_idempotencykey (client_id, key, request_hash, response_status, response_body,
              order_number, created_at)
            SELECT %(client)s, %(key)s, 'h', 201, '{}'::jsonb, o.number, now() FROM o
            """,
            {
                "number": number,
                "pids": [product[s] for s in skus],
                "skus": skus,
                "qs": [q for _i, q, _x in rows],
                "sids": [i for i, _q, _x in rows],
                "ct": ctx["ct"],
                "client": ctx["client"],
                "key": key,
            },
        )
        conn.execute("COMMIT")
    return True


def cpu_snapshot(server_pgid: int | None) -> dict[str, float]:
    """CPU seconds so far of the app server, of PostgreSQL and of the whole machine (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    app = pg = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if comm.startswith("postgres"):
            pg += used
        elif server_pgid and int(fields[2]) == server_pgid:
            app += used
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return {"app": app, "pg": pg, "busy": (sum(v) - v[3] - v[4]) / tick}


# --- payment callbacks ---------------------------------------------------------------------------------------------
CALLBACKS: list[tuple[dict, str]] = []  # signed requests, made before the clients fork


# The pending payments each callback mode pays: callback mode's for the app and for the baseline (shared out over
# the turns: this machine's speed drifts by half within a minute, README), each number of clients its own; burst's.
APP_CALLBACKS, BASELINE_CALLBACKS, BURST_CALLBACKS = 15_000, 35_000, 15_000


def pending_needed(modes: list[str], client_counts: int) -> int:
    """How many pending payments a fresh run seeds: at least 100,000 (`tests.bench.profile` pays from PB0090001
    on after a run of 16 clients), more if the modes take more (each callback run its own, the paid check 20)."""
    taken = ("callback" in modes) * client_counts * (APP_CALLBACKS + BASELINE_CALLBACKS)
    return max(100_000, taken + ("burst" in modes) * BURST_CALLBACKS + 100)


def prepare_callbacks(first: int, count: int) -> list[tuple[dict, str]]:
    from django.utils import timezone

    from payments.gateways import get_gateway

    stripe = get_gateway("stripe")
    now = timezone.now()
    out = []
    for n in range(first, first + count):
        reference = f"PB{n:07d}"
        signed = stripe.sandbox_request(
            reference=reference,
            amount=Decimal("99.00"),
            currency="CNY",
            outcome="success",
            txn_id=f"pi_bench{n:08d}",
            now=now,
        )
        out.append(({"Content-Type": "application/json", **signed.headers}, signed.body))
    return out


def http_callback_client(idx, n_clients, port, dup_rate, warmup, duration, barrier, out, release):
    rng = random.Random(idx)
    mine = CALLBACKS[idx::n_clients]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, codes, errors, dups = [], Counter(), Counter(), 0
    barrier.wait()
    start = time.monotonic() + warmup
    end = start + duration
    i, last = 0, None
    while time.monotonic() < end and i < len(mine):
        replay = last is not None and rng.random() < dup_rate
        headers, body = last if replay else mine[i]
        if not replay:
            i += 1
        t0 = time.monotonic()
        conn, status, data = post(conn, port, "/api/v1/payments/callbacks/stripe/", body, headers)
        t1 = time.monotonic()
        last = (headers, body)
        if t0 >= start:
            lat.append(t1 - t0)
            codes[201 if status == 200 else status] += 1
            dups += replay
            if status != 200:
                errors[data[:120].decode(errors="replace")] += 1
    out.put({"lat": lat, "codes": dict(codes), "errors": dict(errors), "units": dups})


_CALLBACK_SQL = """
WITH p AS (SELECT id, order_id FROM payments_payment WHERE reference = %(ref)s),
o AS (SELECT o.id FROM orders_order o JOIN p ON o.id = p.order_id FOR UPDATE OF o),
ev AS (
  INSERT INTO payments_paymentevent (gateway, direction, kind, payment_id, reference, event_type, gateway_txn_id,
    amount, currency, headers, body, transmission_id, body_sha256, signature_valid, outcome, error, actor,
    received_at)
  SELECT 'stripe', 'in', 'callback', p.id, %(ref)s, 'payment_intent.succeeded', %(txn)s, 99.00, 'CNY',
    %(headers)s::jsonb, %(body)s, '', encode(sha256(convert_to(%(body)s, 'UTF8')), 'hex'), true, 'applied', '',
    'gateway:stripe', now() FROM p),
pu AS (
  UPDATE payments_payment SET status = 'paid', gateway_txn_id = %(txn)s, paid_at = now(), updated_at = now()
  FROM p WHERE payments_payment.id = p.id AND payments_payment.status = 'pending' RETURNING payments_payment.id),
ou AS (
  -- held: the baseline does no follow-ups, and the app's workers, timed draining the inbox, must not do its
  UPDATE orders_order SET status = 'confirmed', payment_status = 'paid', review_status = 'held', updated_at = now()
  FROM o, pu WHERE orders_order.id = o.id AND orders_order.status = 'pending'
  RETURNING orders_order.id, orders_order.number),
lg AS (
  INSERT INTO orders_transitionlog (content_type_id, object_id, object_repr, field, source, target, transition,
    actor, reason, created_at)
  SELECT t.ct, CASE WHEN t.ct = %(order_ct)s THEN ou.id::text ELSE pu.id::text END,
    CASE WHEN t.ct = %(order_ct)s THEN ou.number ELSE %(ref)s END, t.field, 'pending', t.target, t.name,
    'gateway:stripe', '', now()
  FROM ou, pu, (VALUES (%(payment_ct)s, 'status', 'paid', 'mark_paid'), (%(order_ct)s, 'payment_status', 'paid',
    'mark_paid'), (%(order_ct)s, 'status', 'confirmed', 'confirm')) AS t(ct, field, target, name)),
rs AS (
  UPDATE inventory_reservation r SET state = 'committed', updated_at = now() FROM ou
  WHERE r.holder = ou.number AND r.state = 'active' RETURNING r.stock_item_id, r.quantity, r.holder),
st AS (
  UPDATE inventory_stockitem s SET on_hand = s.on_hand - rs.quantity, reserved = s.reserved - rs.quantity
  FROM rs WHERE s.id = rs.stock_item_id RETURNING s.id),
mv AS (
  INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta, reference,
    actor, note, created_at)
  SELECT rs.stock_item_id, 'commit', rs.quantity, -rs.quantity, -rs.quantity, rs.holder, 'gateway:stripe', '', now()
  FROM rs),
nt AS (
  INSERT INTO notifications_notification (order_id, subject, event, channel, recipient, language, context, status,
    attempts, last_error, provider_message_id, due_at, created_at)
  SELECT ou.id, ou.number, 'payment_confirmed', c.channel, c.recipient, 'zh-hans', '{}', 'queued', 0, '', '', now(),
    now()
  FROM ou, (VALUES ('email', 'p@example.com'), ('sms', '+8613800138000')) AS c(channel, recipient))
SELECT (SELECT count(*) FROM pu), (SELECT count(*) FROM st)
"""


def sql_callback_client(idx, n_clients, dsn, ctx, dup_rate, warmup, duration, barrier, out, release):
    import psycopg

    rng = random.Random(idx)
    mine = CALLBACKS[idx::n_clients]
    lat, codes = [], Counter()
    with psycopg.connect(dsn) as conn:
        barrier.wait()
        start = time.monotonic() + warmup
        end = start + duration
        i, last = 0, None
        while time.monotonic() < end and i < len(mine):
            replay = last is not None and rng.random() < dup_rate
            headers, body = last if replay else mine[i]
            if not replay:
                i += 1
            event = json.loads(body)
            params = {
                "ref": event["data"]["object"]["metadata"]["reference"],
                "txn": event["data"]["object"]["id"],
                "headers": json.dumps(headers),
                "body": body,
                **ctx,
            }
            t0 = time.monotonic()
            with conn.pipeline():
                conn.execute(_CALLBACK_SQL, params)
                conn.execute("COMMIT")
            t1 = time.monotonic()
            last = (headers, body)
            if t0 >= start:
                lat.append(t1 - t0)
                codes[201] += 1
        out.put({"lat": lat, "codes": dict(codes), "errors": {}, "units": 0})
        release.wait(60)


def run_clients(target, n, args_for, server_pgid: int | None = None, warmup: float = 0.0) -> dict:
    """Run `n` client processes; their results, and the CPU per request counted from the end of their `warmup`
    (whose requests they do not count either: a window's CPU over the warm-up too read 1.6x too high in 3.3-s
    turns)."""
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(n + 1)  # the clients, and this process to start the CPU count with them
    out = ctx.Queue()
    release = ctx.Event()
    procs = [ctx.Process(target=target, args=(*args_for(i), barrier, out, release)) for i in range(n)]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=120)
        time.sleep(warmup)
        cpu0 = cpu_snapshot(server_pgid)
        results = [out.get(timeout=600) for _ in procs]
    except Exception:
        for p in procs:
            p.kill()
        raise SystemExit("a benchmark client died; see its traceback above") from None
    cpu1 = cpu_snapshot(server_pgid)
    release.set()
    for p in procs:
        p.join()
    if any("kind" in r for r in results):  # burst: each kind of client on its own, the CPU over all
        return {k: aggregate([r for r in results if r["kind"] == k], cpu0, cpu1) for k in {r["kind"] for r in results}}
    return aggregate(results, cpu0, cpu1)


def aggregate(results: list[dict], cpu0: dict, cpu1: dict) -> dict:
    total = sum(sum(r["codes"].values()) for r in results) or 1
    cpu = {f"{k}_ms_per_request": round(1000 * (cpu1[k] - cpu0[k]) / total, 2) for k in ("app", "pg", "busy")}
    return _combined(results, cpu)


def merged(parts: list[dict]) -> dict:
    """One result of several windows of the same clients, as if they had been one (`aggregate`'s form)."""
    counts = [sum(part["codes"].values()) or 1 for part in parts]
    cpu = {
        key: round(sum(part["cpu"][key] * n for part, n in zip(parts, counts, strict=True)) / sum(counts), 2)
        for key in parts[0]["cpu"]
    }
    return _combined(parts, cpu)


def _combined(results: list[dict], cpu: dict) -> dict:
    codes, errors = Counter(), Counter()
    for r in results:
        codes.update(r["codes"])
        errors.update(r["errors"])
    return {
        "lat": [x for r in results for x in r["lat"]],
        "codes": dict(codes),
        "errors": dict(errors),
        "units": sum(r["units"] for r in results),
        "cpu": cpu,
    }


def summarize(label, mode, clients, duration, res) -> dict:
    ok = res["codes"].get(201, 0)
    line = {
        "run": label,
        "mode": mode,
        "clients": clients,
        "orders_per_s": round(ok / duration, 1),
        "ok": ok,
        "codes": res["codes"],
        "p50_ms": pct(res["lat"], 50),
        "p95_ms": pct(res["lat"], 95),
        "p99_ms": pct(res["lat"], 99),
        "cpu": res["cpu"],
    }
    if res["errors"]:
        line["errors"] = dict(list(res["errors"].items())[:3])
    return line


class Tagged:
    """A client's results queue that labels what it puts (burst mode runs two kinds of client at once)."""

    def __init__(self, out, kind: str):
        self.out, self.kind = out, kind

    def put(self, result: dict) -> None:
        self.out.put({**result, "kind": self.kind})


def burst_client(idx, n_callbacks, ports, token, dup_rate, warmup, duration, barrier, out, release):
    """Burst mode: the first `n_callbacks` clients send callbacks, the others place orders, all at once
    (ports: the callbacks' server, the placements')."""
    if idx < n_callbacks:
        http_callback_client(
            idx, n_callbacks, ports[0], dup_rate, warmup, duration, barrier, Tagged(out, "callback"), release
        )
    else:
        http_client(idx, "spread", ports[1], token, warmup, duration, 10**9, barrier, Tagged(out, "placement"), release)


def cpu_priority(proc: subprocess.Popen, nice: int) -> None:
    """Run a server's or worker's session at `nice`. Each runs in a session of its own (start_new_session), and
    with the kernel's autogroup scheduling (on by default) sessions share the CPU as wholes: a process's own
    nice value weighs only against the other processes of its session, so `nice` on a command line changed
    nothing here. Without autogroup the file is missing or ignored, and a command line's `nice` applies."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{proc.pid}/autogroup").write_text(str(nice))


def start_server(env: dict, port: int, workers: int, token: str) -> subprocess.Popen:
    """gunicorn on `port` as deployed (config/gunicorn.py; its metrics in a directory of its own), once it
    answers."""
    env = {**env, "PROMETHEUS_MULTIPROC_DIR": f"{tempfile.gettempdir()}/shop-bench-metrics-{port}"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn.py",
            "config.wsgi",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/products/HOT-1/", headers={"Authorization": f"Token {token}"})
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.2)
    return server


INBOX_SQL = (
    "SELECT count(*) FROM payments_paymentevent WHERE direction = 'in' AND outcome = 'received' AND signature_valid"
)


def inbox_drain(dsn: str, timeout: float = 600) -> dict:
    """Seconds from now until the worker has applied every callback the endpoint answered."""
    import psycopg

    t0 = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        left = queued = conn.execute(INBOX_SQL).fetchone()[0]
        while left and time.monotonic() - t0 < timeout:
            time.sleep(0.25)
            left = conn.execute(INBOX_SQL).fetchone()[0]
    return {"queued_at_end": queued, "left": left, "drained_s": round(time.monotonic() - t0, 1)}


def applied_once(dsn: str, first: int, count: int) -> dict:
    """Every callback the app answered (references PB<first> on) applied exactly once: as many `applied`
    events and paid transitions as payments paid, and every callback event out of the inbox."""
    import psycopg

    refs = {"lo": f"PB{first:07d}", "hi": f"PB{first + count - 1:07d}"}
    with psycopg.connect(dsn, autocommit=True) as conn:
        paid, applied, logs, events = conn.execute(
            "SELECT (SELECT count(*) FROM payments_payment WHERE reference BETWEEN %(lo)s AND %(hi)s "
            "AND status = 'paid'), "
            "(SELECT count(*) FROM payments_paymentevent WHERE reference BETWEEN %(lo)s AND %(hi)s "
            "AND kind = 'callback' AND outcome = 'applied'), "
            "(SELECT count(*) FROM orders_transitionlog WHERE object_repr BETWEEN %(lo)s AND %(hi)s "
            "AND target = 'paid'), "
            "(SELECT count(*) FROM payments_paymentevent WHERE reference BETWEEN %(lo)s AND %(hi)s "
            "AND kind = 'callback')",
            refs,
        ).fetchone()
    return {
        "payments_paid": paid,
        "applied_events": applied,
        "paid_transitions": logs,
        "callback_events": events,
        "exactly_once": paid == applied == logs,
    }


def paid_latency(port: int, token: str, first: int, count: int = 20) -> dict:
    """A storefront's view under normal load: one callback at a time, the order polled every 20 ms until it
    reads paid. Seconds from sending the callback."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    seconds = []
    for headers, body in prepare_callbacks(first, count):
        number = "PEND" + json.loads(body)["data"]["object"]["metadata"]["reference"][2:]
        t0 = time.monotonic()
        conn, status, _data = post(conn, port, "/api/v1/payments/callbacks/stripe/", body, headers)
        assert status == 200, status
        while time.monotonic() - t0 < 30:
            conn.request("GET", f"/api/v1/orders/{number}/", headers={"Authorization": f"Token {token}"})
            resp = conn.getresponse()
            if json.loads(resp.read()).get("payment_status") == "paid":
                break
            time.sleep(0.02)
        seconds.append(time.monotonic() - t0)
    return {"run": "paid-latency", "count": count, "p50_ms": pct(seconds, 50), "max_ms": pct(seconds, 100)}


def pause_workers(workers: list[subprocess.Popen], dsn: str) -> None:
    """SIGSTOP the workers' process groups with no transaction open (a worker stopped holding a stock row would
    stall placements, and every later pause would wait for it): once the database is quiet they are stopped and
    it is checked again; a worker that began a transaction in between is resumed and the stop tried again.
    Waits up to a minute for the follow-ups of the last mode to finish."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:

        def busy() -> bool:
            return (
                conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state <> 'idle' AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                > 0
            )

        deadline = time.monotonic() + 60
        while True:
            while busy() and time.monotonic() < deadline:
                time.sleep(0.25)
            for worker in workers:
                os.killpg(worker.pid, signal.SIGSTOP)
            time.sleep(0.05)  # a statement sent just before the stop shows as active until it ends
            if not busy() or time.monotonic() >= deadline:
                return
            resume_workers(workers)


def timed_drain(workers: list[subprocess.Popen], dsn: str, first: int, followups_apart: bool, count: int) -> dict:
    """Resume the workers (only the inbox's with `followups_apart`, the rest once it is empty), time the inbox
    drain and check the `count` callbacks from payment `first` on were applied exactly once."""
    resume_workers(workers[:1] if followups_apart else workers)
    drain = inbox_drain(dsn)
    resume_workers(workers)
    return {**drain, **applied_once(dsn, first, count), "followups_apart": followups_apart}


def resume_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGCONT)


def start_workers(env: dict) -> list[subprocess.Popen]:
    """The Celery workers: one on the callbacks queue (the inbox), one on the rest (the follow-ups paid orders
    cause), as deployed. Deployed they have machines of their own; here they share two cores with gunicorn
    and PostgreSQL, so unless --workers-live they are stopped while the clients run (the inbox fills, as it
    would with busy workers elsewhere) and resumed when they stop (the drain is timed)."""
    workers = []
    for name, queues, concurrency, nice in (
        ("inbox", "callbacks", "2", "10"),  # the inbox run and its helper (SWEEP_WORKERS), before follow-ups
        ("rest", "celery,fulfillment,notifications,webhooks,sweeps", "1", "19"),
    ):
        worker = subprocess.Popen(
            [
                "nice",
                "-n",
                nice,
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                queues,
                "-c",
                concurrency,
                "-n",
                f"{name}@%h",
                "--loglevel=ERROR",  # not the console e-mail backend's output, which Celery logs as warnings
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        cpu_priority(worker, int(nice))
        workers.append(worker)
    return workers


def ports_free(*ports: int) -> None:
    """Stop before touching the database when another run holds the ports: its storefront key would be revoked
    under it (every later request of that run a 401)."""
    import socket

    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                sys.exit(f"port {port} is in use (another bench run?): stop it or pass --port")


def bench_endpoint(url: str | None) -> None:
    """The bench's webhook endpoint: an earlier run's removed (with --reuse it would still be active), this
    run's added when there is one."""
    from django.db import connection

    from webhooks.services import webhook_endpoint_add

    with connection.cursor() as c:
        c.execute("SELECT id FROM webhooks_webhookendpoint WHERE description = 'tests.bench.run'")
        ids = [row[0] for row in c.fetchall()]
        if ids:
            c.execute("DELETE FROM webhooks_webhookdelivery WHERE endpoint_id = ANY(%s)", [ids])
            c.execute("DELETE FROM webhooks_webhookendpoint WHERE id = ANY(%s)", [ids])
    if url:
        webhook_endpoint_add(url=url, description="tests.bench.run")


# --- orchestration -------------------------------------------------------------------------------------------------
def setup_database(
    url: str, pending: int = 100_000, history: int = 100_000, ledger: bool = True, reuse: bool = False
) -> tuple[str, dict]:
    """A fresh, seeded database (or, with `reuse`, the one the last run left, and a new storefront key)."""
    import psycopg

    admin_dsn = url.rsplit("/", 1)[0] + "/postgres"
    dbname = url.rsplit("/", 1)[1]
    if not reuse:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from orders.services import storefront_key_issue
    from tests.bench.seed import seed

    call_command("migrate", verbosity=0)
    from tests.bench.seed import seed_pending_payments

    api_key, token = storefront_key_issue(name="bench")  # the bench client's new key (the old one revoked)
    user = api_key.client
    t0 = time.monotonic()
    if not reuse:
        seed(history=history, ledger=ledger)
        if pending:
            seed_pending_payments(count=pending)
        print(
            f"# seeded 10,000 products, {history:,} past orders and {pending:,} pending ones "
            f"in {time.monotonic() - t0:.0f}s",
            file=sys.stderr,
        )
    with connection.cursor() as c:
        if reuse:  # the last run's oversell check sold HOT-1 out: its stock back, through the ledger
            c.execute(
                """
                WITH low AS (
                    SELECT id, reserved + 10000000 - on_hand AS delta FROM inventory_stockitem
                    WHERE on_hand - reserved < 1000000 AND location LIKE 'A-%'
                ), upd AS (
                    UPDATE inventory_stockitem s SET on_hand = s.on_hand + low.delta FROM low WHERE s.id = low.id
                    RETURNING s.id, low.delta
                )
                INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, reserved_delta,
                                                     reference, actor, note, created_at)
                SELECT id, 'adjustment', abs(delta), delta, 0, 'bench-restock', 'bench', '', now() FROM upd
                """
            )
        c.execute("SELECT id FROM django_content_type WHERE app_label = 'orders' AND model = 'order'")
        ctx = {"ct": c.fetchone()[0], "client": user.pk}
        c.execute("SELECT id FROM django_content_type WHERE app_label = 'payments' AND model = 'payment'")
        ctx["payment_ct"] = c.fetchone()[0]
        ctx["order_ct"] = ctx["ct"]
    return token, ctx


def count_queries(token: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    items = [
        {"sku": "SKU-00010", "quantity": 1, "unit_price": price_of("SKU-00010")},
        {"sku": "SKU-00020", "quantity": 2, "unit_price": price_of("SKU-00020")},
    ]
    run = uuid.uuid4().hex[:8]  # a customer and keys of their own: a --reuse run's would be duplicates
    client.post("/api/v1/orders/", order_payload(items[:1], f"warm-{run}"), format="json", HTTP_IDEMPOTENCY_KEY=run)
    with CaptureQueriesContext(connection) as ctx:
        r = client.post(
            "/api/v1/orders/", order_payload(items, f"q-{run}"), format="json", HTTP_IDEMPOTENCY_KEY=f"q-{run}"
        )
    assert r.status_code == 201, r.content
    return [q["sql"].split()[0] for q in ctx.captured_queries]


def auth_cost(token: str, rounds: int = 3000) -> dict:
    """Per-request cost of storefront authentication (prefix lookup + SHA-512 of the key), beside what DRF's
    plain-text tokens cost: one indexed read of the key row with its user."""
    from django.test import RequestFactory

    from orders import auth as storefront_auth
    from orders.models import StorefrontKey

    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {token}")
    auth = storefront_auth.StorefrontKeyAuthentication()
    pk = StorefrontKey.objects.get(prefix=token.partition(".")[0]).pk

    def uncached():
        storefront_auth._verified.clear()
        return auth.authenticate(request)

    timings = {}
    for name, call in (
        ("hashed_key_us", lambda: auth.authenticate(request)),
        ("hashed_key_uncached_us", uncached),
        ("plaintext_lookup_us", lambda: StorefrontKey.objects.select_related("client").get(pk=pk)),
    ):
        for _ in range(200):
            call()
        t0 = time.perf_counter()
        for _ in range(rounds):
            call()
        timings[name] = round((time.perf_counter() - t0) / rounds * 1e6, 1)
    return {"run": "auth", **timings}


def oversell_check(dsn: str, port: int, token: str, clients: int, stock: int) -> dict:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        # Leave exactly `stock` units of HOT-1 available, through the ledger like any correction.
        item_id, on_hand, reserved = conn.execute(
            "SELECT s.id, on_hand, reserved FROM inventory_stockitem s JOIN inventory_product p ON p.id = s.product_id "
            "WHERE p.sku = 'HOT-1'"
        ).fetchone()
        delta = reserved + stock - on_hand
        conn.execute("UPDATE inventory_stockitem SET on_hand = on_hand + %s WHERE id = %s", (delta, item_id))
        conn.execute(
            "INSERT INTO inventory_stockmovement (stock_item_id, kind, quantity, on_hand_delta, "
            "reserved_delta, reference, actor, note, created_at) VALUES (%s, 'adjustment', %s, %s, 0, "
            "'bench-oversell', 'bench', '', now())",
            (item_id, abs(delta), delta),
        )
        sold_before = reserved
    attempts = stock * 5 // clients + 1
    res = run_clients(http_client, clients, lambda i: (i, "oversell", port, token, 0, 600, attempts))
    with psycopg.connect(dsn, autocommit=True) as conn:
        on_hand, reserved = conn.execute(
            "SELECT on_hand, reserved FROM inventory_stockitem WHERE id = %s", (item_id,)
        ).fetchone()
        active = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM inventory_reservation WHERE stock_item_id = %s "
            "AND state = 'active'",
            (item_id,),
        ).fetchone()[0]
        ledger = conn.execute(
            "SELECT sum(on_hand_delta), sum(reserved_delta) FROM inventory_stockmovement WHERE stock_item_id = %s",
            (item_id,),
        ).fetchone()
    sold = reserved - sold_before
    passed = (
        res["units"] == sold == stock
        and reserved <= on_hand
        and reserved == active
        and tuple(ledger) == (on_hand, reserved)
        and set(res["codes"]) <= {201, 409}
    )
    return {
        "run": "oversell-check",
        "clients": clients,
        "stock": stock,
        "attempts": sum(res["codes"].values()),
        "accepted_units": res["units"],
        "db_sold": sold,
        "reserved_equals_active_reservations": reserved == active,
        "ledger_matches": tuple(ledger) == (on_hand, reserved),
        "codes": res["codes"],
        "oversold": max(0, sold - stock),
        "result": "PASS" if passed else "FAIL",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", default="4,16", help="comma-separated client counts")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="spread, hot and callback: the app and the baseline take turns this many times, --duration in all each",
    )
    ap.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--modes", default="spread,hot,callback,burst")
    ap.add_argument("--burst-seconds", type=float, default=30.0, help="burst mode: how long the burst lasts")
    ap.add_argument(
        "--workers-live", action="store_true", help="callback and burst modes: workers run while clients do"
    )
    ap.add_argument(
        "--followups-apart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the inbox drain with the follow-ups worker still stopped, as deployed (its own machines)",
    )
    ap.add_argument(
        "--callbacks-apart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="burst mode: callbacks go to a gunicorn of their own (--workers workers), as deployed; without, "
        "placements and callbacks share one",
    )
    ap.add_argument(
        "--storefront-nice",
        type=int,
        default=5,
        help="burst, with --callbacks-apart: the storefront's gunicorn at this CPU priority (0-19), the callbacks' "
        "at 0 — the CPU weights README asks for where both share a host, as here; 0: equal shares",
    )
    ap.add_argument("--dup-rate", type=float, default=0.1, help="callback mode: share of replayed callbacks")
    ap.add_argument(
        "--webhook",
        action="store_true",
        help="a webhook endpoint for every event, as a shop with an ERP has (a local receiver answering 204); "
        "the baseline writes no webhook rows",
    )
    ap.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop_bench")
    )
    ap.add_argument("--out", help="also append the JSON lines to this file")
    ap.add_argument("--reuse", action="store_true", help="the database the last run seeded (a quick re-run)")
    ap.add_argument(
        "--first-payment", type=int, default=1, help="callbacks pay pending payments from this one (with --reuse)"
    )
    args = ap.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        "API_THROTTLE_RATE": "1000000/min",
        "CALLBACK_THROTTLE_RATE": "1000000/min",
        "DEBUG": "false",
        "LOG_LEVEL": "ERROR",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    ports_free(args.port, args.port + 1)
    pending = pending_needed(args.modes.split(","), len(args.clients.split(",")))
    token, ctx = setup_database(args.database_url, pending=pending, reuse=args.reuse)
    from tests.local_server import serving

    erp = contextlib.ExitStack()  # --webhook: the ERP, answering every delivery 204 on a free local port
    bench_endpoint(erp.enter_context(serving(lambda *request: (204, b"", {}))) + "/erp" if args.webhook else None)
    queries = count_queries(token)
    auth = auth_cost(token)
    from django.db import connections

    connections.close_all()
    dsn = args.database_url.replace("postgres://", "postgresql://")
    lines = [{"run": "queries-per-placement", "count": len(queries), "statements": " ".join(queries)}, auth]
    for line in lines:
        print(json.dumps(line), flush=True)

    workers: list[subprocess.Popen] = []  # started by the first callback or burst mode
    server, callback_server = start_server(env, args.port, args.workers, token), None
    try:
        # burst with --callbacks-apart: the gateways' callbacks on a gunicorn of their own, as deployed
        callback_server = start_server(env, args.port + 1, args.workers, token) if args.callbacks_apart else None
        callback_port = args.port + 1 if callback_server else args.port
        global CALLBACKS
        next_payment = args.first_payment
        modes = args.modes.split(",")
        for mode in modes:
            if mode in ("callback", "burst") and not workers:
                # only now: placement modes are measured, as always, without follow-ups running beside them
                workers = start_workers(env)
                time.sleep(5)
            if mode == "burst":
                # placements and callbacks at once, half the clients each, for --burst-seconds
                clients = max(int(c) for c in args.clients.split(","))
                CALLBACKS = prepare_callbacks(next_payment, BURST_CALLBACKS)
                if not args.workers_live:
                    pause_workers(workers, dsn)
                if callback_server:
                    cpu_priority(server, args.storefront_nice)  # for the burst only: placement modes run as ever
                res = run_clients(
                    burst_client,
                    clients,
                    lambda i, n=clients // 2: (
                        i,
                        n,
                        (callback_port, args.port),
                        token,
                        args.dup_rate,
                        args.warmup,
                        args.burst_seconds,
                    ),
                    server.pid,
                    args.warmup,
                )
                if callback_server:
                    cpu_priority(server, 0)
                drain = timed_drain(workers, dsn, next_payment, args.followups_apart, BURST_CALLBACKS)
                for kind, r in sorted(res.items()):
                    line = summarize("app", f"burst-{kind}", clients // 2, args.burst_seconds, r)
                    if kind == "callback":
                        line["inbox"] = drain
                    print(json.dumps(line), flush=True)
                    lines.append(line)
                next_payment += BURST_CALLBACKS
                continue
            for clients in [int(c) for c in args.clients.split(",")]:
                seconds = args.duration / args.rounds
                if mode == "callback":
                    # distinct pending payments for each run, 15,000 for the app and 35,000 for the baseline, shared
                    # out over the turns; the workers stay stopped through them (unless --workers-live), and the
                    # inbox's drain of everything the app answered is timed after the last
                    app_each, base_each = APP_CALLBACKS // args.rounds, BASELINE_CALLBACKS // args.rounds
                    turns = []
                    if not args.workers_live:
                        pause_workers(workers, dsn)
                    for turn in range(args.rounds):
                        if args.workers_live:
                            resume_workers(workers)
                        CALLBACKS = prepare_callbacks(next_payment + turn * app_each, app_each)
                        app = run_clients(
                            http_callback_client,
                            clients,
                            lambda i, n=clients, s=seconds: (i, n, args.port, args.dup_rate, args.warmup, s),
                            server.pid,
                            args.warmup,
                        )
                        if args.workers_live:
                            pause_workers(workers, dsn)  # the baseline has the machine to itself, as the app had
                        CALLBACKS = prepare_callbacks(next_payment + APP_CALLBACKS + turn * base_each, base_each)
                        base = run_clients(
                            sql_callback_client,
                            clients,
                            lambda i, n=clients, s=seconds: (i, n, dsn, ctx, args.dup_rate, args.warmup, s),
                            warmup=args.warmup,
                        )
                        turns.append((app, base))
                    app_inbox = timed_drain(workers, dsn, next_payment, args.followups_apart, APP_CALLBACKS)
                    next_payment += APP_CALLBACKS + BASELINE_CALLBACKS
                else:
                    turns = [
                        (
                            run_clients(
                                http_client,
                                clients,
                                lambda i, m=mode, s=seconds: (i, m, args.port, token, args.warmup, s, 10**9),
                                server.pid,
                                args.warmup,
                            ),
                            run_clients(
                                sql_client,
                                clients,
                                lambda i, m=mode, s=seconds: (i, m, dsn, ctx, args.warmup, s),
                                warmup=args.warmup,
                            ),
                        )
                        for _turn in range(args.rounds)
                    ]
                app, base = (merged([turn[side] for turn in turns]) for side in (0, 1))
                a = summarize("app", mode, clients, args.duration, app)
                b = summarize("raw-sql-baseline", mode, clients, args.duration, base)
                a["ratio_to_baseline"] = round(a["orders_per_s"] / max(b["orders_per_s"], 0.1), 3)
                if mode == "callback":
                    a["inbox"] = app_inbox
                for line in (a, b):
                    print(json.dumps(line), flush=True)
                    lines.append(line)
        if workers:
            line = paid_latency(args.port, token, next_payment)
            print(json.dumps(line), flush=True)
            lines.append(line)
        line = oversell_check(dsn, args.port, token, 16, 200)
        print(json.dumps(line), flush=True)
        lines.append(line)
    finally:
        erp.close()
        for web in filter(None, (server, callback_server)):
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    if args.out:
        with open(args.out, "a") as f:
            f.writelines(json.dumps(x) + "\n" for x in lines)
    print(
        "\nmode             clients  app ops/s     p50/p95/p99 ms        baseline/s  ratio   (ops: orders or callbacks)"
    )
    for a in lines:
        if a.get("run") == "app":
            b = next(
                (
                    x
                    for x in lines
                    if x.get("run") == "raw-sql-baseline" and x["mode"] == a["mode"] and x["clients"] == a["clients"]
                ),
                {"orders_per_s": "-"},
            )
            print(
                f"{a['mode']:<16} {a['clients']:>7}  {a['orders_per_s']:>12}  "
                f"{a['p50_ms']}/{a['p95_ms']}/{a['p99_ms']:<12}  {b['orders_per_s']:>10}  "
                f"{a.get('ratio_to_baseline', '-')}"
            )
            if "inbox" in a:
                i = a["inbox"]
                print(
                    f"{'':<16} inbox: {i['queued_at_end']} queued when the clients stopped, drained in "
                    f"{i['drained_s']} s; {i['payments_paid']} paid, applied exactly once: {i['exactly_once']}"
                )
    for a in (x for x in lines if x.get("run") == "app"):  # PostgreSQL's work beside the minimal transaction's
        same = ("raw-sql-baseline", a["mode"], a["clients"])
        base = next((x for x in lines if (x.get("run"), x.get("mode"), x.get("clients")) == same), None)
        if base:
            app_pg, base_pg = a["cpu"]["pg_ms_per_request"], base["cpu"]["pg_ms_per_request"]
            print(
                f"PostgreSQL CPU per operation, {a['mode']}, {a['clients']} clients: {app_pg} ms "
                f"(baseline {base_pg} ms: {app_pg / max(base_pg, 0.01):.2f}x); app {a['cpu']['app_ms_per_request']} ms"
            )
    for a in lines:
        if a.get("run") == "paid-latency":
            print(f"A storefront sees the order paid {a['p50_ms']} ms after the callback (median; max {a['max_ms']})")
    print(f"SQL statements per placement: {len(queries)}; oversell check: {lines[-1]['result']}")
    print(
        f"Storefront authentication per request: {auth['hashed_key_us']} µs with hashed keys verified lately, "
        f"{auth['hashed_key_uncached_us']} µs otherwise (a plain-text token lookup: {auth['plaintext_lookup_us']} µs)"
    )


if __name__ == "__main__":
    main()
