"""The Celery app; the beat schedule lives here in code (django-celery-beat is not needed yet)."""

import logging
import os
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

import structlog
from celery import Celery, Task, bootsteps
from celery.schedules import crontab
from celery.signals import task_prerun
from django.db import transaction

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_KEY = "ops:worker-heartbeat"
HEARTBEAT_SECONDS = 10


class Heartbeat(bootsteps.StartStopStep):
    """Each worker notes every 10 s, in the cache, that it is alive: /healthz reads that instead of
    broadcasting a ping to every worker on every probe. A thread of its own, so a long task does not stop it."""

    def start(self, worker):
        self.stopped = threading.Event()
        threading.Thread(target=self._run, name="heartbeat", daemon=True).start()

    def stop(self, worker):
        self.stopped.set()

    def _run(self):
        from django.core.cache import cache

        while not self.stopped.is_set():
            try:
                cache.set(HEARTBEAT_KEY, time.time(), timeout=HEARTBEAT_SECONDS * 6)
            except Exception as exc:  # the cache (Redis) is down: /healthz will say so
                logger.warning("worker heartbeat not written: %s", exc)
            self.stopped.wait(HEARTBEAT_SECONDS)


app.steps["worker"].add(Heartbeat)


@task_prerun.connect
def _log_context(task_id=None, task=None, args=(), **kwargs):
    """A worker thread runs task after task: each starts its log context afresh, with its task (and the
    order, for the tasks that take an order number)."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task=task.name if task else "", task_id=task_id)
    if task is not None and task.name == "fulfillment.tasks.start_fulfillment" and args:
        structlog.contextvars.bind_contextvars(order=str(args[0])[:40])


app.conf.beat_schedule = {
    "close-expired-orders": {"task": "orders.tasks.close_expired_orders", "schedule": 60.0},
    "apply-payment-inbox": {"task": "payments.tasks.apply_payment_inbox", "schedule": 15.0},  # lost wakes
    "query-stale-payments": {"task": "payments.tasks.query_stale_payments", "schedule": 120.0},
    "sweep-unfulfilled-orders": {"task": "fulfillment.tasks.sweep_unfulfilled", "schedule": 30.0},
    "poll-tracking": {"task": "fulfillment.tasks.poll_tracking", "schedule": 60.0},
    "complete-delivered-orders": {"task": "orders.tasks.complete_delivered_orders", "schedule": crontab(minute=5)},
    "sweep-notifications": {"task": "notifications.tasks.sweep_notifications", "schedule": 30.0},
    "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks", "schedule": 5.0},  # the first retry is due after 5 s
    "daily-report": {"task": "notifications.tasks.send_daily_report", "schedule": crontab(hour=8, minute=0)},
    "purge-idempotency-keys": {"task": "orders.tasks.purge_idempotency_keys", "schedule": crontab(minute=17)},
}


_left_to_sweeps: ContextVar[bool] = ContextVar("left_to_sweeps", default=False)


@contextmanager
def left_to_sweeps():
    """Inside, enqueue_on_commit sends nothing: a sweep closing thousands of orders leaves their messages and
    webhooks to the notification and webhook sweeps (the rows are due now), instead of one publish per row."""
    token = _left_to_sweeps.set(True)
    try:
        yield
    finally:
        _left_to_sweeps.reset(token)


def enqueue_on_commit(task: Task, *args) -> None:
    """Send `task` once the transaction commits. A broker that cannot take it is logged, never raised into
    the committed request and never in the way of the other on-commit hooks: the row the work belongs to is
    already in the database, and the beat sweeps (every 30 s) pick it up."""
    if _left_to_sweeps.get():
        return

    def publish():
        try:
            task.apply_async(args=list(args))
        except Exception as exc:  # kombu raises many kinds; none may escape
            logger.warning("could not enqueue %s%s, a sweep will: %s", task.name, args, exc)

    transaction.on_commit(publish)


# task name → the timer that will send it; a forked child (gunicorn, celery prefork) starts with none.
_wake_timers: dict[str, threading.Timer] = {}
_wakes_sent: dict[str, float] = {}  # task name → when its last wake was sent (time.monotonic)
_wake_lock = threading.Lock()
os.register_at_fork(after_in_child=_wake_timers.clear)
os.register_at_fork(after_in_child=_wakes_sent.clear)


def wake_on_commit(task: Task, **kwargs) -> None:
    """Have `task` run shortly after the transaction commits, sending at most one message per
    WAKE_DELAY_SECONDS per process instead of one per call: the hot paths (a placement queues its
    e-mail) publish nothing per request. A commit starts a timer that sends the task from its own thread, at
    once when the last message went a delay ago or more (a quiet shop's paid order is seen paid in tens of
    milliseconds, not half a second), else when the delay since it is over; a commit meanwhile finds the
    timer still waiting, so the run it sends starts after that commit and sees its rows. (Not a countdown: a
    worker holding messages with an ETA dies when the broker goes away.) A process that dies first leaves
    its rows to the beat sweeps, as a lost message would. Eager Celery (tests) sends every call at once."""
    if _left_to_sweeps.get():
        return
    from django.conf import settings

    def send():
        try:
            task.apply_async(kwargs=kwargs)
        except Exception as exc:  # kombu raises many kinds; none may escape
            logger.warning("could not wake %s, a sweep will: %s", task.name, exc)

    def fire():
        with _wake_lock:
            _wake_timers.pop(task.name, None)
            _wakes_sent[task.name] = time.monotonic()
        send()

    def publish():
        if app.conf.task_always_eager:
            send()
            return
        with _wake_lock:
            if task.name in _wake_timers:
                return
            last = _wakes_sent.get(task.name)
            wait = 0.0 if last is None else max(0.0, last + settings.WAKE_DELAY_SECONDS - time.monotonic())
            timer = _wake_timers[task.name] = threading.Timer(wait, fire)
        timer.daemon = True
        timer.start()

    transaction.on_commit(publish)
