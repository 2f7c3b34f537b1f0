"""A read-only serializer's JSON, written by PostgreSQL: one text column per row holding the very
bytes DRF (through orjson, renderers.py) would write for that row.

`row_json(SerializerClass, time_zone)` walks the serializer's own fields, so the serializer stays
the one home of the shape: the names and their order, and for each field the column its `source`
names, written as the field's class writes it:

- integers as numbers; text and choices as JSON strings (`to_json`, which escapes as orjson does:
  `"`, `\\`, control characters, nothing else);
- dates as `"YYYY-MM-DD"`; moments in `time_zone` as DRF shows them: `datetime.isoformat()` of
  the local time (microseconds only when not zero, the offset as `+HH:MM`, with seconds when it has
  them) and `Z` for a zero offset;
- a nested serializer as an object of its own fields, or null when its foreign key is;
- None as null.

A field whose source is not a column (a property, a SerializerMethodField) takes its expression from
`Meta.sql_sources` of the serializer; any other field class raises, so a new field is a decision,
not a silent difference. tests/test_api_perf.py compares the bytes with the serializer's over many
rows (nulls, Vietnamese text, control characters, every branch of the computed fields)."""

from __future__ import annotations

import datetime as dt
import string
import zoneinfo
from typing import Any

from django.db.models import Expression, F, TextField
from rest_framework import serializers

_TEMPLATE = string.Formatter()


class _Sql(Expression):
    """SQL text around compiled sub-expressions: `template` names them `{0}`, `{1}`… (each may be
    repeated; its parameters are repeated with it) and `{zone}`, the time zone as a parameter."""

    output_field = TextField()

    def __init__(self, template: str, *expressions: Any, zone: str | None = None) -> None:
        super().__init__()
        self.template, self.expressions, self.zone = template, list(expressions), zone

    def get_source_expressions(self):
        return self.expressions

    def set_source_expressions(self, exprs):
        self.expressions = list(exprs)

    def as_sql(self, compiler, connection):
        compiled = [compiler.compile(expression) for expression in self.expressions]
        sql, params = [], []
        for literal, name, _spec, _conversion in _TEMPLATE.parse(self.template):
            sql.append(literal.replace("%", "%%"))  # a literal % (modulo) next to Django's %s
            if name == "zone":
                sql.append("%s")
                params.append(self.zone)
            elif name is not None:
                part, part_params = compiled[int(name)]
                sql.append(f"({part})")
                params.extend(part_params)
        return "".join(sql), params


def _text(text: str) -> str:
    """A string literal of SQL, as template text (braces doubled)."""
    return ("'" + text.replace("'", "''") + "'").replace("{", "{{").replace("}", "}}")


def json_number(expression) -> _Sql:
    return _Sql("coalesce({0}::text, 'null')", expression)


def json_string(expression) -> _Sql:
    return _Sql("coalesce(to_json({0}::text)::text, 'null')", expression)


def json_day(expression) -> _Sql:
    return _Sql("coalesce(to_json({0}::date)::text, 'null')", expression)


def _offset_text(seconds: int) -> str:
    """A UTC offset as `datetime.isoformat()` writes it, and `Z` for none (DRF)."""
    if seconds == 0:
        return "Z"
    sign, size = ("-" if seconds < 0 else "+"), abs(seconds)
    text = f"{sign}{size // 3600:02d}:{size % 3600 // 60:02d}"
    return text + (f":{size % 60:02d}" if size % 60 else "")


def json_moment(expression, zone: str) -> _Sql:
    """`value.astimezone(zone).isoformat()` with `+00:00` written `Z`, as DRF's DateTimeField. The
    zone's offset of today is written as a constant (one comparison per value); any other offset
    (another season, another era) is formatted from its seconds."""
    now_offset = int(dt.datetime.now(zoneinfo.ZoneInfo(zone)).utcoffset().total_seconds())  # type: ignore[union-attr]
    offset = "extract(epoch FROM ({0} AT TIME ZONE {zone}) - ({0} AT TIME ZONE 'UTC'))::integer"
    size = f"abs({offset})"
    general = (
        f"CASE WHEN {offset} = 0 THEN 'Z' ELSE "
        f"CASE WHEN {offset} < 0 THEN '-' ELSE '+' END || "
        f"lpad(({size} / 3600)::text, 2, '0') || ':' || lpad(({size} % 3600 / 60)::text, 2, '0') || "
        f"CASE WHEN {size} % 60 = 0 THEN '' ELSE ':' || lpad(({size} % 60)::text, 2, '0') END END"
    )
    return _Sql(
        "CASE WHEN {0} IS NULL THEN 'null' ELSE '\"' || "
        "replace(to_char({0} AT TIME ZONE {zone}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '') || "
        f"CASE {offset} WHEN {now_offset} THEN {_text(_offset_text(now_offset))} ELSE {general} END "
        "|| '\"' END",
        expression,
        zone=zone,
    )


def _scalar(field: serializers.Field, expression, zone: str) -> _Sql:
    if isinstance(field, serializers.BooleanField | serializers.FloatField | serializers.DecimalField):
        pass  # below: not written in SQL yet
    elif isinstance(field, serializers.IntegerField):
        return json_number(expression)
    elif isinstance(field, serializers.CharField | serializers.ChoiceField | serializers.SerializerMethodField):
        return json_string(expression)  # a method field's SQL source gives text or null
    elif isinstance(field, serializers.DateTimeField):
        return json_moment(expression, zone)
    elif isinstance(field, serializers.DateField):
        return json_day(expression)
    raise NotImplementedError(f"{field.field_name}: {type(field).__name__} is not written in SQL yet")


def _value(field: serializers.Field, prefix: str, zone: str, sources: dict[str, Any]) -> _Sql:
    if field.field_name in sources:
        source = sources[field.field_name]
        return _scalar(field, source if hasattr(source, "resolve_expression") else F(source), zone)
    path = prefix + field.source.replace(".", "__")
    if isinstance(field, serializers.BaseSerializer):
        if getattr(field, "many", False) or isinstance(field, serializers.ListSerializer):
            raise NotImplementedError(f"{field.field_name}: a list of objects is not written in SQL yet")
        # The nested object over the foreign key `path`, or null when the key is null.
        return _Sql("CASE WHEN {0} IS NULL THEN 'null' ELSE {1} END", F(path), _object(field, path + "__", zone, {}))
    if isinstance(field, serializers.SerializerMethodField) or field.source == "*":
        raise NotImplementedError(f"{field.field_name}: give its SQL in Meta.sql_sources")
    return _scalar(field, F(path), zone)


def _object(serializer, prefix: str, zone: str, sources: dict[str, Any]) -> _Sql:
    # One concat() of all the parts: a chain of `||` would copy the growing text at every step.
    pieces, values = [], []
    for index, (name, field) in enumerate(serializer.fields.items()):
        if not name.isidentifier():
            raise ValueError(f"not a plain field name: {name!r}")
        pieces.append(_text(("{" if index == 0 else ",") + f'"{name}":') + ", {" + str(index) + "}")
        values.append(_value(field, prefix, zone, sources))
    return _Sql("concat(" + ", ".join(pieces) + ", " + _text("}") + ")", *values)


def row_json(serializer_class: type[serializers.BaseSerializer], zone: str) -> _Sql:
    """The JSON text of one row as `serializer_class` writes it, moments shown in `zone` (an IANA
    name PostgreSQL knows): an expression over a queryset of the serializer's model, whose
    annotations `Meta.sql_sources` may name."""
    sources = getattr(serializer_class.Meta, "sql_sources", {})  # type: ignore[attr-defined]
    return _object(serializer_class(), "", zone, sources)
