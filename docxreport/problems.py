"""``Problem``: one finding about a report, whether from the JSON Schema, a consistency rule or the reader."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]
PathPart = str | int


def json_path(path: Sequence[PathPart]) -> str:
    """Render a path as the dotted form used in messages: ``overview[2].body[0]``; the root is ``$``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "$"


def printable(text: str) -> str:
    """``text`` that every printer can encode: a lone surrogate (from a JSON ``\\ud800`` escape, or a file
    name that is not UTF-8) is written as its escape, ``\\ud800``, instead of failing the whole output."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


@dataclass(frozen=True)
class Problem:
    """One problem found in a report.

    ``path`` locates it in the JSON document (keys and list indexes); ``line``/``column`` are set instead
    when the problem is in the file's text itself (bad encoding, a syntax error). ``rule`` is a stable id
    (``schema.type``, ``row_total``, ``json.syntax`` …) that programs can match on; ``message`` is for people.
    """

    path: tuple[PathPart, ...]
    rule: str
    message: str
    severity: Severity = "error"
    line: int | None = None
    column: int | None = None
    details: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        # user text reaches messages and paths (an unknown key, a cell's text): keep both printable
        object.__setattr__(self, "message", printable(self.message))
        if any(isinstance(p, str) for p in self.path):
            object.__setattr__(self, "path", tuple(printable(p) if isinstance(p, str) else p for p in self.path))

    @property
    def json_path(self) -> str:
        return json_path(self.path)

    @property
    def location(self) -> str:
        """Where the problem is, as shown to users: a JSON path, or ``line L, column C``."""
        if self.line is not None:
            return f"第 {self.line} 行第 {self.column} 列"
        return self.json_path

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form shared by ``validate --format json`` and any service."""
        out: dict[str, Any] = {
            "path": self.json_path,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        if self.details:  # the rule's figures (expected, actual, terms, caused_by …), as plain JSON values
            out["details"] = json.loads(json.dumps(self.details, ensure_ascii=False, default=str))
        return out


def has_errors(problems: Iterable[Problem]) -> bool:
    """True when any problem is an error (warnings do not make a report invalid)."""
    return any(p.severity == "error" for p in problems)


# --------------------------------------------------------------------------- reporting: one format for the CLI, the service and batch


def problem_line(name: str, p: Problem) -> str:
    """One problem for people: ``file: where: 错误：message [rule]``."""
    kind = "错误" if p.severity == "error" else "警告"
    name = printable(name)
    return f"{name}: {p.location}: {kind}：{p.message} [{p.rule}]"


def report_text(name: str, problems: list[Problem]) -> str:
    """Problems for people, one a line, then a summary line."""
    name = printable(name)
    lines = [problem_line(name, p) for p in problems]
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        lines.append(f"{name}: 发现 {errors} 处错误、{warnings} 处警告")
    else:
        lines.append(f"{name}: 校验通过" + (f"（{warnings} 处警告）" if warnings else ""))
    return "\n".join(lines)


def report_dict(name: str, problems: list[Problem]) -> dict[str, Any]:
    """The result of a check for programs (OA systems, the HTTP service)."""
    return {
        "file": printable(name),
        "valid": not has_errors(problems),
        "errors": sum(p.severity == "error" for p in problems),
        "warnings": sum(p.severity == "warning" for p in problems),
        "problems": [p.to_dict() for p in problems],
    }


def report_json(name: str, problems: list[Problem]) -> str:
    """Problems for programs (OA systems): one JSON object."""
    return json.dumps(report_dict(name, problems), ensure_ascii=False, indent=2)


REPORTERS = {"text": report_text, "json": report_json}
