"""Locks and loading helpers every app's services share."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import DatabaseError, connection, models, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=models.Model)


def require_transaction(what: str) -> None:
    """Row locks and in-transaction writes mean nothing in autocommit: fail loudly instead."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"{what} must run inside a transaction")


def advisory_lock_id(digest: str) -> int:
    """60 bits of a hex digest: a key for pg_advisory_xact_lock (placement's content lock)."""
    return int(digest[:15], 16)


def lock_or_skip(queryset: models.QuerySet, **kwargs) -> models.QuerySet:
    """Lock the rows, skipping those another worker holds, so sweeps running side by side share the work."""
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, **kwargs)
    return queryset


def prefetched(instance: models.Model, **relations: Iterable[models.Model]) -> None:
    """Mark related rows the caller already holds as loaded, as prefetch_related would, so a serializer
    reading `instance.<relation>.all()` costs no query (a new order's items, its empty payments)."""
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, rows in relations.items():
        queryset = getattr(instance, name).all()
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        cache[name] = queryset


def insert_together(*groups: tuple[type[models.Model], list[models.Model]]) -> None:
    """Insert the rows of several tables in one statement, as data-modifying CTEs (PostgreSQL), for a hot
    path whose rows refer to each other by ids it already holds (a placement's order, items and log).

    Each table's INSERT is the one bulk_create would send; unlike bulk_create, the rows do not get their own
    new ids back, and no signals are sent (bulk_create sends none either). The statement's text is compiled
    once per tables, row counts and columns, and only the values are prepared each time (the ORM's
    compilation of three INSERTs cost more than running them, on every placement); the values must be
    plain values, not expressions. A nullable column that is NULL in every row of its table is left out
    (PostgreSQL writes NULL): a placement's statement then has at most 50 parameters, the most psycopg
    keeps the parsed form of (it parsed the text anew each time, a twentieth of a request's Python).
    """
    groups = tuple((model, objs) for model, objs in groups if objs)
    shape = tuple((model, len(objs), _columns(model, objs)) for model, objs in groups)
    compiled = _TOGETHER.get((connection.vendor, shape))
    if compiled is None:
        compiled, params = _together_compile(groups, [columns for _m, _n, columns in shape])
        _TOGETHER[connection.vendor, shape] = compiled
    else:
        params = _together_params(compiled[1], groups)
    with connection.cursor() as cursor:
        cursor.execute(compiled[0], params)
    for _model, objs in groups:
        for obj in objs:
            obj._state.adding, obj._state.db = False, connection.alias


_TOGETHER: dict[tuple, tuple[str, list[tuple[list[models.Field], bool]]]] = {}


def _together_params(tables: list[tuple[list[models.Field], bool]], groups) -> list:
    """The values of a statement compiled before, prepared and laid out as the ORM's compiler does."""
    params = []
    for (fields, unnest), (_model, objs) in zip(tables, groups, strict=True):
        rows = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields] for obj in objs]
        if unnest:  # one array per column
            params.extend([row[i] for row in rows] for i in range(len(fields)))
        else:
            params.extend(value for row in rows for value in row)
    return params


_PLAIN_PRE_SAVE = (models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save)


def _columns(model: type[models.Model], objs: list[models.Model]) -> tuple[str, ...]:
    """The columns insert_together writes: not a generated one, not the primary key unless the rows have
    theirs, not a nullable column without a database default that every row leaves NULL."""
    return tuple(
        f.attname
        for f in model._meta.local_concrete_fields
        if not f.generated
        and not (f.primary_key and getattr(objs[0], f.attname) is None)
        and not (
            f.null
            and f.db_default is models.NOT_PROVIDED
            and not (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))  # fills itself in
            and type(f).pre_save in _PLAIN_PRE_SAVE
            and all(getattr(obj, f.attname) is None for obj in objs)
        )
    )


def _together_compile(groups, columns: list[tuple[str, ...]]) -> tuple[tuple[str, list], list]:
    """insert_together's statement as the ORM compiles it, with its parameters, and for each table the fields
    it writes and whether the ORM sent the rows as arrays (UNNEST, PostgreSQL's form for several rows)."""
    parts, params, tables = [], [], []
    for (model, objs), names in zip(groups, columns, strict=True):
        fields = [f for f in model._meta.local_concrete_fields if f.attname in names]
        query = InsertQuery(model)
        query.insert_values(fields, objs)
        ((sql, group_params),) = query.get_compiler(connection=connection).as_sql()
        parts.append(sql)
        params.extend(group_params)
        tables.append((fields, " UNNEST(" in sql))
    *first, last = parts
    ctes = "WITH " + ", ".join(f"t{n} AS ({sql})" for n, sql in enumerate(first)) + " " if first else ""
    return (ctes + last, tables), params


def insert_rows(objs: list[models.Model], *, ignore_conflicts: bool = False) -> None:
    """`save()` or `bulk_create()` of new rows of one model, for a hot path: the INSERT's text is built once
    per model, number of rows and conflict handling, and only the values are prepared each time (the ORM
    compiled the statement anew, which cost more than running it). Sends no signals. Sets the rows' new
    primary keys, unless conflicts are ignored (as bulk_create: the rows skipped have none)."""
    if not objs:
        return
    model = type(objs[0])
    sql, fields, returning = _insert_sql(model, len(objs), ignore_conflicts, connection.vendor)
    params = _insert_params(objs, fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        elif not ignore_conflicts and len(objs) == 1:
            objs[0].pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def _insert_params(objs: list[models.Model], fields: list[models.Field]) -> list:
    """The values of new rows, row after row, prepared as the ORM's INSERT prepares them."""
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]


def _update_params(obj: models.Model, columns: list[models.Field]) -> list:
    """The values of a row's changed columns, prepared as save(update_fields=…) prepares them."""
    return [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in columns]


@functools.cache
def _insert_sql(
    model: type[models.Model], rows: int, ignore_conflicts: bool, vendor: str
) -> tuple[str, list[models.Field], bool]:
    """The INSERT of every column but an automatic primary key (the vendor is part of the cache key)."""
    fields = [f for f in model._meta.local_concrete_fields if not f.generated and not isinstance(f, models.AutoField)]
    ops, quote = connection.ops, connection.ops.quote_name
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"{ops.insert_statement(on_conflict=on_conflict)} {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join([row] * rows)} "
        f"{ops.on_conflict_suffix_sql(fields, on_conflict, None, None)}"
    ).rstrip()
    returning = not ignore_conflicts and connection.features.can_return_rows_from_bulk_insert
    if returning:
        sql += f" RETURNING {quote(model._meta.pk.column)}"
    return sql, fields, returning


def save_fields(obj: models.Model, fields: list[str]) -> None:
    """`obj.save(update_fields=fields)` for a hot path: the UPDATE's text is built once per model and fields,
    only the values are prepared each time (the ORM compiled the statement anew, which cost more than running
    it). `auto_now` fields among them are set as save() sets them; sends no signals; raises as save() does
    when the row is gone. Inside `writes_at_end`, at the end of the block."""
    waiting = _waiting_here()
    if waiting is None or not waiting.updates:
        _save_now(obj, fields)
        return
    key = (type(obj), obj.pk)
    pending = waiting.saves.get(key)
    if pending is not None and pending[0] is not obj:  # another copy of the row: its values are written first
        _save_now(*waiting.saves.pop(key))
        pending = None
    if pending is None:
        waiting.saves[key] = (obj, list(fields))
    else:
        pending[1].extend(name for name in fields if name not in pending[1])


def _save_now(obj: models.Model, fields: list[str]) -> None:
    sql, columns = _update_sql(type(obj), tuple(fields), connection.vendor)
    params = _update_params(obj, columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, obj.pk])
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")


@functools.cache
def _update_sql(model: type[models.Model], fields: tuple[str, ...], vendor: str) -> tuple[str, list[models.Field]]:
    quote, meta = connection.ops.quote_name, model._meta
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s", columns


# --- writes that wait for the end of a block ----------------------------------------------------------------
@dataclasses.dataclass
class _Waiting:
    depth: int  # the savepoints open when the block began: a write made inside a later one runs at once
    updates: bool  # save_fields waits too (not only insert_later)
    # (model, pk): the row and the fields to write
    saves: dict[tuple, tuple[models.Model, list[str]]] = dataclasses.field(default_factory=dict)
    rows: list[tuple[list[models.Model], bool]] = dataclasses.field(default_factory=list)  # rows, ignore_conflicts


_waiting: ContextVar[_Waiting | None] = ContextVar("writes_at_end", default=None)


def _savepoints() -> int:
    """Savepoints open (an atomic block with savepoint=False opens none: its failure rolls everything back)."""
    return sum(1 for sid in connection.savepoint_ids if sid)


def _waiting_here() -> _Waiting | None:
    waiting = _waiting.get()
    return waiting if waiting is not None and _savepoints() == waiting.depth else None


@contextmanager
def writes_at_end(*, updates: bool = True) -> Iterator[None]:
    """Inside a transaction: `insert_later` rows and (with `updates`) `save_fields` wait, and go to the database
    together, in one statement on PostgreSQL, when the block ends normally or an event is emitted (its handlers
    read the database: `core.events.emit` calls `writes_flush`). A payment's apply wrote its order, payment,
    callback, message and log rows in five round trips; two now. A write inside a savepoint opened within the
    block runs at once (a rollback to the savepoint must undo it); a block inside another joins it."""
    if _waiting.get() is not None:
        yield
        return
    require_transaction("writes_at_end")
    waiting = _Waiting(depth=_savepoints(), updates=updates)
    token = _waiting.set(waiting)
    try:
        yield
    finally:
        _waiting.reset(token)
    _flush(waiting)  # not after an exception: the transaction rolls back


def insert_later(objs: list[models.Model], *, ignore_conflicts: bool = False) -> None:
    """`insert_rows`, or at the end of the `writes_at_end` block around it (the rows get no ids then)."""
    waiting = _waiting_here()
    if waiting is None:
        insert_rows(objs, ignore_conflicts=ignore_conflicts)
    elif objs:
        waiting.rows.append((list(objs), ignore_conflicts))


def writes_flush() -> None:
    """Write what waits in the `writes_at_end` block now, before something reads the rows."""
    waiting = _waiting.get()
    if waiting is None or not (waiting.saves or waiting.rows):
        return
    if _savepoints() != waiting.depth:  # written here, a rollback to the savepoint would take them with it
        raise RuntimeError("writes wait outside a savepoint that something inside it would read")
    _flush(waiting)


def _flush(waiting: _Waiting) -> None:
    saves, batches = list(waiting.saves.values()), waiting.rows
    waiting.saves, waiting.rows = {}, []
    groups: dict[tuple, list[models.Model]] = {}  # one INSERT per table (and conflict handling)
    for objs, ignore in batches:
        groups.setdefault((type(objs[0]), ignore), []).extend(objs)
    if connection.vendor != "postgresql":  # no data-modifying CTEs: one statement each
        for obj, fields in saves:
            _save_now(obj, fields)
        for (_model, ignore), objs in groups.items():
            insert_rows(objs, ignore_conflicts=ignore)
        return
    if not saves and not groups:
        return
    shape = (
        tuple((type(obj), tuple(fields)) for obj, fields in saves),
        tuple((model, ignore, len(objs)) for (model, ignore), objs in groups.items()),
    )
    sql = _flush_sql(*shape, connection.vendor)
    params = []
    for obj, fields in saves:
        columns = _update_sql(type(obj), tuple(fields), connection.vendor)[1]
        params.extend([*_update_params(obj, columns), obj.pk])
    for (model, ignore), objs in groups.items():
        fields = _insert_sql(model, len(objs), ignore, connection.vendor)[1]
        params.extend(_insert_params(objs, fields))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = cursor.fetchone()
    if 0 in counts[: len(saves)]:
        raise DatabaseError("Save with update_fields did not affect any rows.")
    for objs in groups.values():
        for obj in objs:
            obj._state.adding, obj._state.db = False, connection.alias


@functools.cache
def _flush_sql(saves: tuple, inserts: tuple, vendor: str) -> str:
    """The flush's statement: each UPDATE and INSERT a data-modifying CTE (the INSERTs' plain VALUES: arrays
    for UNNEST cost more to send than a few rows' values), then the UPDATEs' row counts."""
    parts = [f"{_update_sql(model, fields, vendor)[0]} RETURNING 1" for model, fields in saves]
    parts += [_insert_sql(model, rows, ignore, vendor)[0] for model, ignore, rows in inserts]
    counts = ", ".join(f"(SELECT count(*) FROM w{n})" for n in range(len(saves))) or "0"
    return "WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(parts)) + f" SELECT {counts}"


def row_lock(model: type[M], value, *, by: str = "pk", skip_locked: bool = False) -> M | None:
    """`select_for_update(skip_locked=…).filter(<by>=value).first()`, `by` the primary key or a unique field,
    for a hot path: the statement and the column converters are built once per model (the ORM compiled a
    select of every column anew, each time). None: no such row, or another transaction holds it and
    `skip_locked`. Databases without row locks (SQLite) just read it."""
    with connection.cursor() as cursor:
        cursor.execute(_row_lock_sql(model, by, skip_locked, connection.vendor), [value])
        row = cursor.fetchone()
    return None if row is None else model_from_row(model, row)


def model_from_row(model: type[M], row) -> M:
    """An instance of `model` from a row of its every concrete column, in order (`row_columns`), converted as
    the ORM converts them."""
    values = list(row)
    for index, column, functions in _converters(model, connection.vendor):
        for convert in functions:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, None, values)


def row_columns(model: type[models.Model], alias: str = "") -> str:
    """Every concrete column of `model`, in order, for a hand-written SELECT that `model_from_row` reads."""
    quote, prefix = connection.ops.quote_name, f"{alias}." if alias else ""
    return ", ".join(prefix + quote(f.column) for f in model._meta.concrete_fields)


@functools.cache
def _row_lock_sql(model: type[models.Model], by: str, skip_locked: bool, vendor: str) -> str:
    quote, meta = connection.ops.quote_name, model._meta
    key = meta.pk if by == "pk" else meta.get_field(by)
    unique = key.primary_key or key.unique or any(c.fields == (by,) for c in meta.total_unique_constraints)
    assert unique, f"{model.__name__}.{by} is not unique"
    sql = f"SELECT {row_columns(model)} FROM {quote(meta.db_table)} WHERE {quote(key.column)} = %s"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    return sql


@functools.cache
def _converters(model: type[models.Model], vendor: str) -> list:
    converters = []  # as the ORM applies them: the backend's (SQLite's decimals), then the field's (JSON)
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if functions:
            converters.append((index, column, functions))
    return converters
