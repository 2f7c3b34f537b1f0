"""Search without diacritics: "giai ngan" finds "Giải ngân", "thanh dong" finds "Phường Thành Đông".

Both sides of the comparison are folded the same way: lower case, Vietnamese tone and vowel marks
removed, đ → d. On PostgreSQL the database folds with `lower(unaccent(…))` (the `unaccent`
extension, created by migration 0005_i11_unaccent); on SQLite with `fold()` below, registered as the SQL
function `fold` on every connection; the search text itself is folded by `fold()`. The searched
tables (units, tasks) are small, so an assignment search is two small subqueries, whatever the
number of assignments.
"""

from __future__ import annotations

import unicodedata

from django.db.models import CharField, Func, Q, QuerySet


def fold(text: str | None) -> str:
    """Lower case without diacritics; the Python twin of PostgreSQL's lower(unaccent(text))."""
    if text is None:
        return ""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


class Folded(Func):
    """SQL expression: the folded form of a text column (see the module docstring)."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="lower(unaccent(%(expressions)s))", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="fold(%(expressions)s)", **extra_context)


def matching(queryset: QuerySet, value: str, *fields: str) -> QuerySet:
    """Rows of `queryset` where any of `fields` contains `value`, diacritics and case ignored."""
    needle = fold(value.strip())
    if not needle:
        return queryset
    names = {field: f"_folded_{field.replace('__', '_')}" for field in fields}
    q = Q()
    for name in names.values():
        q |= Q(**{f"{name}__contains": needle})
    return queryset.alias(**{name: Folded(field) for field, name in names.items()}).filter(q)


def register_sqlite_fold(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: SQLite gets `fold` as a deterministic SQL function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("fold", 1, fold, deterministic=True)
