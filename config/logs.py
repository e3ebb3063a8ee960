"""JSON log lines (structlog over the standard library's logging) and the request id every line carries."""

from __future__ import annotations

import re
import uuid

import structlog

from core.logs import redact_personal_data

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# What each line gets before it is rendered: the bound context (request id, order number, task), level,
# logger, UTC time; then personal data is cut from lines below WARNING.
PRE_CHAIN = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.ExtraAdder(),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_personal_data,
]


def json_formatter() -> structlog.stdlib.ProcessorFormatter:
    """LOGGING's "json" formatter: every record, ours and libraries', as one JSON object per line."""
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        foreign_pre_chain=PRE_CHAIN,
    )


class RequestIdMiddleware:
    """Each request's id (the proxy's X-Request-ID when it is sane, else a new one) on every log line of the
    request and in the answer's X-Request-ID; the order number when the URL names one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        structlog.contextvars.clear_contextvars()
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        structlog.contextvars.clear_contextvars()
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if "number" in view_kwargs:
            structlog.contextvars.bind_contextvars(order=view_kwargs["number"][:40])
