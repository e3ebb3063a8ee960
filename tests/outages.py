"""Real outages for tests: a Redis of the test's own on a spare port (never the machine's shared one), and
Celery workers as real processes that a test can kill with -9."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """redis-server on a spare port, started and killed by the test."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Worker:
    """`celery -A config worker` (with the beat inside, `-B`) against the test database and a given broker."""

    def __init__(self, *, database_url: str, redis_url: str, log: Path, extra_env: dict[str, str] | None = None):
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.outage_settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            **(extra_env or {}),
        }
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        beat_schedule = self.log.with_suffix(".beat")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-B",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-s",
                str(beat_schedule),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker's whole process group: no shutdown, no acknowledgement, nothing flushed."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def gunicorn_as_deployed(
    port: int, *, workers: int, database_url: str, redis_url: str, metrics_dir: Path
) -> subprocess.Popen:
    """`gunicorn -c config/gunicorn.py config.wsgi` on `port`, as production starts it, with the test's settings."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    command = ["-m", "gunicorn", "-c", "config/gunicorn.py", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    return subprocess.Popen([sys.executable, *command, "config.wsgi"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)


def wait_until(condition, timeout: float, interval: float = 0.5) -> float:
    """Seconds until `condition()` held; raises AssertionError after `timeout`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"not done within {timeout} s")
