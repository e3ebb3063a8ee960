"""The admin's home: each staff group's to-do list. The apps add their items from AppConfig.ready() with
`todos_add`, so core knows none of them; each item is one bounded query, whatever the number of rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

CUSTOMER_SERVICE, FINANCE, WAREHOUSE = "Customer service", "Finance", "Warehouse"
GROUP_TITLES = {CUSTOMER_SERVICE: _("Customer service"), FINANCE: _("Finance"), WAREHOUSE: _("Warehouse")}


@dataclass(frozen=True)
class ToDo:
    group: str
    label: str
    value: Callable[[], object]  # a count, or rows of (label, amount) for a breakdown
    url: Callable[[], str]  # the filtered list behind the number
    urgent: bool = True  # a non-zero count is work waiting (shown as such)
    rank: int = 50  # place in the group's list


_todos: list[ToDo] = []


def todos_add(todos: list[ToDo]) -> None:
    for todo in todos:
        if todo not in _todos:
            _todos.append(todo)
    _todos.sort(key=lambda t: t.rank)


def todo_lists(user) -> list[dict]:
    """The to-do lists of the groups the user belongs to (every group for a superuser), in group order."""
    groups = set(GROUP_TITLES) if user.is_superuser else set(user.groups.values_list("name", flat=True))
    lists = []
    for group, title in GROUP_TITLES.items():
        if group not in groups:
            continue
        items = []
        for todo in (t for t in _todos if t.group == group):
            value = todo.value()
            rows = value if isinstance(value, list) else None
            items.append(
                {
                    "label": todo.label,
                    "count": None if rows is not None else value,
                    "rows": rows,
                    "url": todo.url(),
                    "urgent": todo.urgent,
                }
            )
        lists.append({"title": title, "items": items})
    return lists


def dashboard_callback(request, context):
    """django-unfold's DASHBOARD_CALLBACK: the index page gets the user's to-do lists."""
    context["todo_lists"] = todo_lists(request.user)
    return context
