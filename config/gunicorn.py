"""gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi`.

Metrics of every worker process are kept as files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode) and added up by /metrics, so a count is right whichever worker answers the scrape."""

import os
import shutil
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/shop-metrics")


def on_starting(server):
    """A fresh directory per start: files of processes from before would be counted again."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def post_fork(server, worker):
    """A worker closes a connection at once unless the client left something unread (config/sockets.py)."""
    from config.sockets import install

    install()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
