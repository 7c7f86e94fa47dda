"""The API's request fields: each accepts exactly what the OpenAPI schema (drf-spectacular reads these fields) says it
accepts, so a schema-valid request is never refused as malformed and a malformed one is never let through.

DRF's own fields are lenient where the schema is strict: a CharField turns 42 into "42", an IntegerField takes "42" and
4.0, a ChoiceField takes 1 for "1", and a CharField strips white space before it checks the length, so "  " counts as
blank while the schema's minLength counts two characters. Here a JSON value of the wrong type is a 400 (never coerced),
text is measured as sent, a required text must hold a character other than white space (the schema's `pattern` says
which characters those are), and NUL is refused everywhere (PostgreSQL cannot store it; the schema's pattern says so).
Query parameters arrive as text and are read by the same fields (`Query*`: strict about their own spelling).
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from rest_framework import serializers

# Exactly the characters Python's str.isspace() (and so str.strip()) treats as white space, spelled out: ECMAScript's
# \s (the schema's regex dialect) is a different set, so `\S` would let the schema and the server disagree.
WHITESPACE_CLASS = r"\t-\r\u001c- \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
ANY_TEXT = r"^[^\u0000]*$"  # no NUL
SOME_TEXT = rf"^[^\u0000]*[^\u0000{WHITESPACE_CLASS}][^\u0000]*$"  # no NUL, and something other than white space


class Text(serializers.CharField):
    """A JSON string, measured as sent; required text (not allow_blank) has minLength 1 and must not be only white
    space. What is returned is stripped of surrounding white space, unless `verbatim` (a password: every character
    counts, white space too, and it is returned as sent)."""

    def __init__(self, *, verbatim: bool = False, **kwargs):
        self.verbatim = verbatim
        kwargs.setdefault("trim_whitespace", False)
        if not kwargs.get("allow_blank", False):
            kwargs.setdefault("min_length", 1)
        super().__init__(**kwargs)
        if self.allow_blank or verbatim:
            self.validators.append(RegexValidator(ANY_TEXT, "Remove the NUL character: CPMS does not accept it."))
        else:
            self.validators.append(RegexValidator(SOME_TEXT, "Write something other than spaces (and no NUL character)."))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        return value.strip() if isinstance(value, str) and not self.verbatim else value


class Email(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Pattern(serializers.RegexField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Choice(serializers.ChoiceField):
    """One of the (text) choices, given as a string: 1 is not "1"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class Integer(serializers.IntegerField):
    """A JSON integer: not "42", not 42.0, not true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    """A JSON true or false: not "true", not 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class QueryInteger(serializers.IntegerField):
    """An integer in the query string, in digits only ("4.0" and "+4" are not the schema's integers)."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(r"-?[0-9]+", data):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryBoolean(serializers.BooleanField):
    """true or false in the query string, spelled so (the schema's boolean), nothing else."""

    TRUE_VALUES = {"true"}
    FALSE_VALUES = {"false"}
    NULL_VALUES: set = set()


def read_filters(serializer_class, request) -> dict:
    """A list's query parameters read by `serializer_class` (the same class documents them: `extend_schema(parameters=
    [serializer_class])`); a bad one is a 400 problem document with a pointer to the parameter."""
    # A plain dict, not the QueryDict: DRF reads an empty form value of an optional field as "not given", so
    # `?priority=` would pass as no filter while the schema (minLength 1, an enum) says it is not a priority.
    params, fields = request.query_params, serializer_class().fields
    given = {name: params.getlist(name) if isinstance(field, serializers.ListField) else params[name]
             for name, field in fields.items() if name in params}
    data = serializer_class(data=given)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)
