"""A yes/no validator compiled from a JSON Schema, for the common case: the report is valid.

jsonschema walks the schema generically for every instance (a report has about 350 table cells, each with a
type and two bounds: about 2 ms). Almost every report that reaches :func:`docxreport.render` is valid, and
then all that is needed is the answer. :func:`compile_schema` turns a schema into nested closures that answer
only "valid?" (a tenth of the time); when they answer no, jsonschema runs as before and explains every problem.

Only the keywords the report schema uses are compiled, with jsonschema's semantics (Draft 2020-12: a
keyword applies only to instances of its type; ``$ref`` applies beside its siblings). A schema with any other
keyword raises :class:`Unsupported`, and the caller keeps using jsonschema alone. The test
``tests/test_quickcheck.py`` checks, on thousands of generated reports, that the two always agree.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that only annotate; they never make an instance invalid.
ANNOTATIONS = frozenset({"title", "description", "examples", "default", "$comment", "deprecated", "readOnly", "writeOnly", "$schema"})


class Unsupported(ValueError):
    """The schema uses something this compiler does not know; validate with jsonschema alone."""


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _is_integer(x: Any) -> bool:
    """Draft 2020-12 also takes ``1.0``; this schema's integer is a JSON integer (see ``schema.py``)."""
    return isinstance(x, int) and not isinstance(x, bool)


#: Type predicates: jsonschema's for Draft 2020-12, except ``integer`` (docxreport's stricter one).
TYPES: dict[str, Check] = {
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def _always(_: Any) -> bool:
    return True


def _every(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)

    def every(x: Any) -> bool:
        for check in checks:
            if not check(x):
                return False
        return True

    return every


class _Compiler:
    def __init__(self, root: Mapping[str, Any], formats: Callable[[Any, str], bool]) -> None:
        self.root = root
        self.defs = root.get("$defs", {})
        self.formats = formats
        self.refs: dict[str, Check] = {}

    def ref(self, pointer: str) -> Check:
        prefix = "#/$defs/"
        name = pointer[len(prefix):]
        if not pointer.startswith(prefix) or "/" in name or "~" in name or name not in self.defs:
            raise Unsupported(f"$ref {pointer!r}")
        if name not in self.refs:
            self.refs[name] = _always  # a reference back to itself, met while compiling, is looked up later
            compiled = self.node(self.defs[name])
            self.refs[name] = compiled
        refs = self.refs
        return lambda x: refs[name](x)

    def node(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return lambda _: False
        if not isinstance(schema, Mapping):
            raise Unsupported(f"schema {schema!r}")
        keys = set(schema) - ANNOTATIONS - {"$defs"}
        fused = self._leaf(schema, keys)
        if fused is not None:
            return fused
        unknown = keys - _ORDER.keys()
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        if "$id" in keys and schema is not self.root:
            raise Unsupported("$id below the root")
        checks: list[Check] = []
        for key in sorted(keys, key=_ORDER.__getitem__):  # cheap keywords first
            checks.append(getattr(self, "k_" + key.lstrip("$"))(schema[key], schema))
        return _every(checks)

    def _leaf(self, schema: Mapping[str, Any], keys: set[str]) -> Check | None:
        """One closure for the shapes that make up most of a report: a bounded count, a bounded text."""
        kind = schema.get("type")
        if kind in ("integer", "number") and keys <= {"type", "minimum", "maximum"}:
            is_type = TYPES[kind]
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is not None and high is not None:
                return lambda x: is_type(x) and not x < low and not x > high  # as jsonschema: NaN passes
            return None
        if kind == "string" and keys <= {"type", "minLength", "maxLength", "pattern"}:
            low, high = schema.get("minLength", 0), schema.get("maxLength")
            search = re.compile(schema["pattern"]).search if "pattern" in schema else None
            if high is None or search is None:
                return None
            return lambda x: isinstance(x, str) and low <= len(x) <= high and search(x) is not None
        return None

    # keywords ------------------------------------------------------------------------------------

    def k_type(self, value: Any, _: Mapping[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        try:
            predicates = [TYPES[n] for n in names]
        except KeyError as exc:
            raise Unsupported(f"type {exc}") from None
        if len(predicates) == 1:
            return predicates[0]
        return lambda x: any(p(x) for p in predicates)

    def k_const(self, value: Any, _: Mapping[str, Any]) -> Check:
        if not isinstance(value, str):
            raise Unsupported("const other than a string")
        return lambda x: isinstance(x, str) and x == value

    def k_minimum(self, value: Any, _: Mapping[str, Any]) -> Check:
        return lambda x: not _is_number(x) or not x < value

    def k_maximum(self, value: Any, _: Mapping[str, Any]) -> Check:
        return lambda x: not _is_number(x) or not x > value

    def k_minLength(self, value: int, _: Mapping[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) >= value

    def k_maxLength(self, value: int, _: Mapping[str, Any]) -> Check:
        return lambda x: not isinstance(x, str) or len(x) <= value

    def k_pattern(self, value: str, _: Mapping[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda x: not isinstance(x, str) or search(x) is not None

    def k_format(self, value: str, _: Mapping[str, Any]) -> Check:
        formats = self.formats
        return lambda x: formats(x, value)

    def k_minItems(self, value: int, _: Mapping[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) >= value

    def k_maxItems(self, value: int, _: Mapping[str, Any]) -> Check:
        return lambda x: not isinstance(x, list) or len(x) <= value

    def k_required(self, value: list[str], _: Mapping[str, Any]) -> Check:
        names = tuple(value)
        return lambda x: not isinstance(x, dict) or all(n in x for n in names)

    def k_properties(self, value: Mapping[str, Any], _: Mapping[str, Any]) -> Check:
        checks = {name: self.node(sub) for name, sub in value.items()}

        def properties(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for name, item in x.items():
                check = checks.get(name)
                if check is not None and not check(item):
                    return False
            return True

        return properties

    def k_additionalProperties(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise Unsupported("patternProperties")
        known = frozenset(schema.get("properties", {}))
        if value is False:
            return lambda x: not isinstance(x, dict) or known.issuperset(x)
        extra = self.node(value)
        return lambda x: not isinstance(x, dict) or all(extra(v) for k, v in x.items() if k not in known)

    def k_items(self, value: Any, schema: Mapping[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise Unsupported("prefixItems")
        item = self.node(value)
        return lambda x: not isinstance(x, list) or all(item(v) for v in x)

    def k_anyOf(self, value: list[Any], _: Mapping[str, Any]) -> Check:
        branches = [self.node(sub) for sub in value]
        return lambda x: any(b(x) for b in branches)

    def k_allOf(self, value: list[Any], _: Mapping[str, Any]) -> Check:
        return _every([self.node(sub) for sub in value])

    def k_ref(self, value: str, _: Mapping[str, Any]) -> Check:
        return self.ref(value)

    def k_id(self, value: str, _: Mapping[str, Any]) -> Check:
        return _always  # the root's only (see node): it names the schema, the $refs stay within it


_ORDER = {key: i for i, key in enumerate((
    "$id", "type", "const", "required", "additionalProperties", "minimum", "maximum", "minLength", "maxLength",
    "minItems", "maxItems", "pattern", "format", "properties", "items", "$ref", "allOf", "anyOf",
))}


def compile_schema(schema: Mapping[str, Any], formats: Callable[[Any, str], bool]) -> Check:
    """A function answering whether an instance is valid against ``schema``.

    ``formats(instance, name)`` checks the ``format`` keyword (pass jsonschema's
    ``FormatChecker().conforms`` to agree with it). Raises :class:`Unsupported` for a schema using a
    keyword this module does not compile.
    """
    compiler = _Compiler(schema, formats)
    root = compiler.node(schema)

    def valid(instance: Any) -> bool:
        try:
            return root(instance)
        except Exception:  # a comparison jsonschema would also fail on (a Decimal NaN): let it report
            return False

    return valid
