"""The consistency rules (勾稽关系) of the national format, run from their declaration in the format data.

A rule in the format description is a template (``{"kind": "sum", "each": {"row": "request_rows"},
"target": "{row}.total", "of": {...}}``); :func:`expand_rules` turns it into concrete checks over JSON
paths. :func:`complete` fills absent cells (0, or the computed total) and :func:`check` yields a
:class:`Problem` for every check that fails, with the numbers in its message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..format import Format
from ..problems import Problem


@dataclass(frozen=True)
class Check:
    """One concrete consistency check: every path is a dotted data-model path."""

    rule: str
    kind: str
    message: str
    target: str = ""
    terms: tuple[str, ...] = ()
    right: tuple[str, ...] = ()  # balance: target+terms is the left side


def _expand(rule: dict[str, Any], lists: Mapping[str, tuple[str, ...]]) -> Iterator[Check]:
    (var, list_name), = rule["each"].items()
    for value in lists[list_name]:
        def fill(template: str, **extra: str) -> str:
            return template.format(**{var: value, **extra})

        if rule["kind"] == "sum":
            of = rule["of"]
            terms = tuple(fill(of["path"], item=item) for item in lists[of["each"]])
            yield Check(rule["id"], "sum", rule["message"], fill(rule["target"]), terms)
        elif rule["kind"] == "balance":
            left = [fill(p) for p in rule["left"]]
            yield Check(rule["id"], "balance", rule["message"], left[0], tuple(left[1:]), tuple(fill(p) for p in rule["right"]))
        elif rule["kind"] == "previous":
            yield Check(rule["id"], "previous", rule["message"], fill(rule["target"]), (fill(rule["previous"]),))
        else:
            raise ValueError(f"unknown rule kind {rule['kind']!r} in rule {rule['id']!r}")


@cache
def expand_rules(fmt: Format) -> tuple[Check, ...]:
    """Every concrete check of a format, in declaration order."""
    return tuple(check for rule in fmt.rules for check in _expand(rule, fmt.lists))


@cache
def consistency_rules(fmt: Format) -> frozenset[str]:
    """The ids of the consistency rules (勾稽关系): the only errors ``render --allow-errors`` lets through,
    since a report that breaks them can still be laid out (a schema error cannot)."""
    return frozenset(c.rule for c in expand_rules(fmt))


@cache
def sum_targets(fmt: Format) -> frozenset[str]:
    """The cells that are totals: computed when absent."""
    return frozenset(c.target for c in expand_rules(fmt) if c.kind == "sum")


@cache
def zero_cells(fmt: Format) -> frozenset[str]:
    """The cells whose absence means 0 (the applicant columns of table 三's rows)."""
    rows = set(fmt.lists[fmt.zero_when_absent])
    return frozenset(k for k in fmt.data_keys if k.rsplit(".", 1)[0] in rows) - sum_targets(fmt)


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path, or None where any step is missing or not an object."""
    for part in path.split("."):
        if not (isinstance(data, dict) or isinstance(data, Mapping)) or part not in data:  # dict first: fast
            return None
        data = data[part]
    return data


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@cache
def _split_keys(fmt: Format) -> tuple[tuple[str, str, str], ...]:
    """Each data key with its row's path and its own name."""
    return tuple((key, *key.rsplit(".", 1)) for key in fmt.data_keys)  # type: ignore[misc]


def _resolve(data: Any, fmt: Format) -> tuple[dict[str, int | None], set[str]]:
    """Every count cell's value (None: unknown, as the schema already reports it) and the given cells."""
    targets, zeros = sum_targets(fmt), zero_cells(fmt)
    values: dict[str, int | None] = {}
    given: set[str] = set()
    pending: set[str] = set()
    count_max = fmt.limits["count_max"]
    parents: dict[str, Any] = {}  # the rows, looked up once for all their cells
    for key, parent_path, leaf in _split_keys(fmt):
        if parent_path not in parents:
            parents[parent_path] = get_path(data, parent_path)
        parent = parents[parent_path]
        is_row = isinstance(parent, dict) or isinstance(parent, Mapping)
        absent = is_row and leaf not in parent
        row_absent = parent is None  # e.g. the whole （七）总计 row left out: its totals are computed
        raw = parent[leaf] if is_row and not absent else None
        if _is_count(raw) and 0 <= raw <= count_max:
            values[key] = raw
            given.add(key)
        elif (absent or row_absent) and key in targets:
            pending.add(key)
        elif absent and key in zeros:
            values[key] = 0  # an absent column of a present row (a missing row is a schema error)
        else:  # a value the schema refuses (null, -1, NaN as read): unknown, so no rule repeats the problem
            values[key] = None
    sums = [c for c in expand_rules(fmt) if c.kind == "sum"]
    while pending:
        progressed = False
        for check in sums:
            if check.target in pending and not pending.intersection(check.terms):
                terms = [values[t] for t in check.terms]
                values[check.target] = None if None in terms else sum(terms)  # type: ignore[arg-type]
                pending.discard(check.target)
                progressed = True
        if not progressed:  # a total whose parts are themselves unknown
            for key in pending:
                values[key] = None
            break
    return values, given


def _copy_tree(value: Any) -> Any:
    """A copy of JSON-like data: new dicts and lists, the same (immutable) strings and numbers. Several
    times faster than ``copy.deepcopy``, which memoises every node; valid data is shallow (the schema)."""
    if isinstance(value, Mapping):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def complete(data: Mapping[str, Any], fmt: Format) -> dict[str, Any]:
    """A deep copy of valid report data with every absent count filled (0, or the computed total)."""
    out: dict[str, Any] = _copy_tree(data)
    values, given = _resolve(out, fmt)
    for key, value in values.items():
        if key in given or value is None:
            continue
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def _fmt_sum(values: list[int]) -> str:
    return "+".join(map(str, values))


def _check_sum(check: Check, values: Mapping[str, int | None], given: set[str], _: Any) -> Iterator[Problem]:
    terms = [values[t] for t in check.terms]
    actual = values[check.target]
    if check.target not in given or actual is None or None in terms:
        return
    expected = sum(terms)  # type: ignore[arg-type]
    if actual != expected:
        yield Problem(
            tuple(check.target.split(".")), check.rule,
            f"{check.message} {_fmt_sum(terms)}={expected}，实际填写为 {actual}",  # type: ignore[arg-type]
            details={"expected": expected, "actual": actual, "terms": dict(zip(check.terms, terms))},
        )


def _check_balance(check: Check, values: Mapping[str, int | None], given: set[str], _: Any) -> Iterator[Problem]:
    left = [values[p] for p in (check.target, *check.terms)]
    right = [values[p] for p in check.right]
    if None in left or None in right:
        return
    if sum(left) != sum(right):  # type: ignore[arg-type]
        yield Problem(
            tuple(check.target.split(".")), check.rule,
            f"{check.message}：{_fmt_sum(left)}={sum(left)}，而 {_fmt_sum(right)}={sum(right)}",  # type: ignore[arg-type]
            details={"left": sum(left), "right": sum(right)},  # type: ignore[arg-type]
        )


def _check_previous(check: Check, values: Mapping[str, int | None], given: set[str], previous: Mapping[str, int | None] | None) -> Iterator[Problem]:
    if previous is None:
        return
    this, last = values[check.target], previous.get(check.terms[0])
    if this is not None and last is not None and this != last:
        yield Problem(
            tuple(check.target.split(".")), check.rule,
            f"{check.message}：本年填写 {this}，上年报告为 {last}",
            details={"actual": this, "previous": last},
        )


_CHECKS: dict[str, Callable[..., Iterator[Problem]]] = {
    "sum": _check_sum,
    "balance": _check_balance,
    "previous": _check_previous,
}


def _cells(check: Check) -> tuple[str, ...]:
    return (check.target, *check.terms, *check.right) if check.kind != "previous" else (check.target,)


def check(data: Any, fmt: Format, previous: Any = None) -> Iterator[Problem]:
    """Yield every consistency problem of ``data`` (and against last year's report, when given).

    One wrong cell often breaks several checks: a total that is not the sum of its row also unbalances
    the table. The root causes come first; a problem that would vanish once every wrong total is set to
    the sum of its parts follows, marked as caused by them (``（由 requests.received.total 的错误引起）``,
    ``details["caused_by"]``), so that the clerk fixes one cell, not three."""
    values, given = _resolve(data, fmt)
    last = _resolve(previous, fmt)[0] if isinstance(previous, Mapping) else None
    failing = [(c, p) for c in expand_rules(fmt) for p in _CHECKS[c.kind](c, values, given, last)]
    yield from _root_causes_first(failing, values, given, last)
    if isinstance(previous, Mapping):
        yield from _identity(data, previous)


def _root_causes_first(failing: list[tuple[Check, Problem]], values: Mapping[str, int | None], given: set[str],
                       last: Mapping[str, int | None] | None) -> Iterator[Problem]:
    """The failing checks' problems, root causes first and consequences after them, marked."""
    expected: dict[str, int | None] = {}
    for c, p in failing:
        if c.kind == "sum":  # a total that is not the sum of its parts: the likely wrong cell
            want = p.details.get("expected")
            expected[c.target] = want if expected.get(c.target, want) == want else None  # ambiguous: no correction
    corrections = {k: v for k, v in expected.items() if v is not None}
    roots: list[Problem] = []
    consequences: list[Problem] = []
    for c, p in failing:
        used = [cell for cell in _cells(c) if cell in corrections and not (c.kind == "sum" and cell == c.target)]
        if used:
            fixed = {**values, **{cell: corrections[cell] for cell in used}}
            if not any(True for _ in _CHECKS[c.kind](c, fixed, given, last)):
                causes = sorted(set(used), key=used.index)
                consequences.append(Problem(p.path, p.rule, f"{p.message}（由 {'、'.join(causes)} 的错误引起）", p.severity,
                                            p.line, p.column, {**p.details, "caused_by": causes}))
                continue
        roots.append(p)
    yield from roots
    yield from consequences


def _identity(data: Mapping[str, Any], previous: Mapping[str, Any]) -> Iterator[Problem]:
    """Warn when last year's report seems to be another body's or another year's."""
    organ, last_organ = data.get("organ"), previous.get("organ")
    if isinstance(organ, str) and isinstance(last_organ, str) and organ != last_organ:
        yield Problem(("organ",), "cross_year.organ", f"上年报告的机关名称为“{last_organ}”，与本年“{organ}”不同，请确认是同一机关", "warning")
    year, last_year = data.get("year"), previous.get("year")
    if _is_count(year) and _is_count(last_year) and last_year != year - 1:
        yield Problem(("year",), "cross_year.year", f"上年报告的年度为 {last_year}，不是 {year - 1}", "warning")
