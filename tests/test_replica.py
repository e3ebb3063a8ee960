"""A real streaming replica: a private primary and its replica started from the machine's PostgreSQL binaries
(initdb, pg_basebackup -R) on spare ports, never the shared cluster. The admin's list reads the replica (an
order placed while the replica's replay is paused is not listed), while the order page, the storefront's read
back and every write stay on the primary."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.outages import ROOT, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
pytestmark = pytest.mark.skipif(not (PG_BIN / "pg_basebackup").exists(), reason="needs PostgreSQL 15's binaries")


def as_postgres(*command):
    """initdb and postgres refuse to run as root: run them as the postgres user when we are root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def primary_and_replica():
    base = Path(tempfile.mkdtemp(prefix="shop-replica-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    primary, replica = base / "primary", base / "replica"
    ports = free_port(), free_port()
    options = "-c listen_addresses=127.0.0.1 -k {base} -c fsync=off -p {port}"
    as_postgres(PG_BIN / "initdb", "-D", primary, "-A", "trust", "-U", "postgres")
    as_postgres(PG_BIN / "pg_ctl", "-D", primary, "-o", options.format(base=base, port=ports[0]), "-l",
                base / "primary.log", "-w", "start")  # fmt: skip
    try:
        as_postgres(PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", ports[0], "-U", "postgres", "-D", replica, "-R")
        as_postgres(PG_BIN / "pg_ctl", "-D", replica, "-o", options.format(base=base, port=ports[1]), "-l",
                    base / "replica.log", "-w", "start")  # fmt: skip
        as_postgres(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", ports[0], "-U", "postgres", "shop")
        yield ports
    finally:
        for data in (replica, primary):
            if data.exists():
                subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data), "-m",
                                "immediate", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def test_lists_read_the_replica_and_everything_else_the_primary(primary_and_replica):
    primary, replica = primary_and_replica
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{primary}/shop",
        "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{replica}/shop",
    }
    run = subprocess.run([sys.executable, "-m", "tests.replica_check"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["first_listed"]  # the list works from the replica once it has the rows
    assert result["placed"] == 201 and result["storefront_reads_it_back"] == 200  # writes and read-backs: primary
    assert not result["on_replica_while_paused"], result
    assert not result["listed_while_replica_paused"]  # the list read the paused replica…
    assert result["order_page_while_paused"]  # …the order's own page the primary
    assert result["health_page"] == 200 and result["catalogue"] == 200
    assert result["listed_after_resume"]


def test_without_a_replica_everything_reads_the_primary(settings):
    from config.db import ReplicaRouter, _on_replica
    from orders.models import Order

    assert "replica" not in settings.DATABASES
    token = _on_replica.set(True)
    try:
        assert ReplicaRouter().db_for_read(Order) is None  # the default database
    finally:
        _on_replica.reset(token)
