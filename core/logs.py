"""What a log line is about, bound once for everything logged after it in this request or task.

`about_order(number)` is called where an order is locked (every use case on one order passes there), so
each line a callback, a staff action or a task logs about an order carries its number; the request id is
bound by config.logs.RequestIdMiddleware, a task's id by the Celery signal in config.celery_app."""

import re

import structlog

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"\+?\d[\d -]{7,}\d")


def about_order(number: str) -> None:
    structlog.contextvars.bind_contextvars(order=number)


def redact_personal_data(logger, method_name: str, event_dict: dict) -> dict:
    """A structlog processor: no customer e-mail or phone in lines below WARNING."""
    if event_dict.get("level", method_name) in ("debug", "info"):
        for key, value in event_dict.items():
            if isinstance(value, str) and key not in ("timestamp", "request_id", "order", "task_id"):
                event_dict[key] = PHONE.sub("[phone]", EMAIL.sub("[e-mail]", value))
    return event_dict
