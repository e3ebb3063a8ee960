"""The one family of refusals every use case raises. HTTP-free: the API's exception handler alone maps a
code to a status (config.api.STATUS_BY_CODE); the admin shows the detail."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A refused use case: a machine `code`, a human `detail` and optional extra fields."""

    code = "error"
    default_detail = _("The request could not be processed.")

    def __init__(self, detail: Any = None, *, code: str | None = None, **extra: Any) -> None:
        self.detail = detail if detail is not None else self.default_detail
        if code:
            self.code = code
        self.extra = extra
        super().__init__(str(self.detail))

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": str(self.detail), **self.extra}


class InvalidTransition(ApplicationError):
    code = "invalid_transition"
    default_detail = _("This action is not allowed in the object's current state.")
