"""The database health check (config.postgres) on the real PostgreSQL: a quiet connection is reused without the
`SELECT 1` round trip, and one the server has ended is replaced before the request's first query, as Django's
own check does."""

from __future__ import annotations

import time

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh():
    """Connections of the test's own, in autocommit beside the test's transaction, as a web process holds them."""
    made = []

    def open_one():
        conn = connections.create_connection("default")
        assert conn.health_check_enabled or conn.settings_dict["CONN_HEALTH_CHECKS"]
        made.append(conn)
        return conn

    yield open_one
    for conn in made:
        conn.close()


def run(conn, sql: str, params=()):
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def next_request(conn):
    """What Django does at the end of one request and the start of the next, up to the first query's check."""
    conn.close_if_unusable_or_obsolete()
    conn.close_if_health_check_failed()


def test_a_quiet_connection_is_reused_without_a_round_trip(fresh):
    worker, observer = fresh(), fresh()
    (pid,) = run(worker, "SELECT pg_backend_pid() /* the request's last query */")

    next_request(worker)

    (last,) = run(observer, "SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
    assert last == "SELECT pg_backend_pid() /* the request's last query */"  # Django's check would show SELECT 1
    assert worker.health_check_done
    assert run(worker, "SELECT pg_backend_pid()") == (pid,)


def test_a_connection_the_server_ended_is_replaced_before_the_next_request_uses_it(fresh):
    worker, observer = fresh(), fresh()
    (pid,) = run(worker, "SELECT pg_backend_pid()")
    assert run(observer, "SELECT pg_terminate_backend(%s)", [pid]) == (True,)
    deadline = time.monotonic() + 10
    while run(observer, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]) != (0,):
        assert time.monotonic() < deadline, "the terminated backend did not exit"
        time.sleep(0.05)

    next_request(worker)

    (new_pid,) = run(worker, "SELECT pg_backend_pid()")  # no error: the request goes on, on a new connection
    assert new_pid != pid
