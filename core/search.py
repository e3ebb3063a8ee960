"""Staff searches over tables that grow with the orders, in the admin's search_fields syntax."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.utils.text import smart_split, unescape_string_literal


def search_words(term: str) -> Iterator[str]:
    """The words of a search as Django's admin splits them: quotes keep a phrase together."""
    for word in smart_split(term):
        yield unescape_string_literal(word) if word[:1] in "\"'" and word[-1:] == word[:1] else word


# Lookups a search_fields entry may name, as Django's admin allows ("message_id__exact": a case-sensitive id, on
# its unique index; "=" compares UPPER() of both sides, which only an UPPER() index serves).
NAMED_LOOKUPS = frozenset({"exact", "iexact", "contains", "icontains", "startswith", "istartswith"})


def field_lookup(field: str, word: str) -> dict[str, str]:
    """A search_fields entry as a filter: "=field" the whole value in any case, "field__lookup" that lookup,
    otherwise a part of it."""
    if field.rpartition(LOOKUP_SEP)[2] in NAMED_LOOKUPS:
        return {field: word}
    return {f"{field[1:]}__iexact": word} if field.startswith("=") else {f"{field}__icontains": word}


def search_each_field(queryset: QuerySet, term: str, fields: Sequence[str]) -> QuerySet:
    """The rows a search finds, as Django's admin finds them (every word matches one of `fields`), asked field by
    field and the answers united.

    Django's admin ORs the fields in one WHERE: across a join (a payment's order number, a parcel's) PostgreSQL
    cannot put one index per field together and scans the table — 2-3 s for a payment reference or a scanned
    tracking number at a million rows (tests.bench.admin). Each field's own subquery is answered on its index
    (UPPER() indexes for the "=" fields, as iexact compares) in a few milliseconds."""
    model = queryset.model
    for word in search_words(term):
        matches = [model._base_manager.filter(**field_lookup(f, word)).order_by().values("pk") for f in fields]
        queryset = queryset.filter(pk__in=matches[0].union(*matches[1:]))
    return queryset
