"""Locks and loading helpers every app's services share."""

from __future__ import annotations

import functools
from collections.abc import Iterable
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
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        elif not ignore_conflicts and len(objs) == 1:
            objs[0].pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


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
    when the row is gone."""
    sql, columns = _update_sql(type(obj), tuple(fields), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(obj, False), connection) for f in columns]
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
    assert key.primary_key or key.unique, f"{model.__name__}.{by} is not unique"
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
