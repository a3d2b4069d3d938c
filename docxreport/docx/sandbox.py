"""The Jinja environment of templates: sandboxed, and bounded in what one render may build and how long it
may take.

A custom template is code from the user's side. Jinja's :class:`ImmutableSandboxedEnvironment` keeps it away
from Python internals, but not from building ``'a' * 10**10`` or looping for ever. :class:`BoundedSandbox`
adds, for every template part and document property, at prepare and render time:

- operators ``*``, ``**``, ``+``, ``%`` and ``~`` (concatenation) that refuse a string or list longer than
  :data:`STRING_MAX` items or an integer over :data:`INT_BITS_MAX` bits *before* building it;
- filters and method calls whose result could outgrow that bound (``replace``, ``indent``, ``center``,
  ``join``, ``format``, ``'{:09}'.format``, ``zfill`` …) refused from an upper bound of their result computed
  from their arguments, and every integer argument at most :data:`ARG_MAX`;
- ``range`` up to :data:`RANGE_MAX` items, ``lipsum`` to a few paragraphs;
- a render stopped when its output passes :data:`OUTPUT_MAX` characters or it runs longer than
  :data:`SECONDS_MAX` (a loop that writes nothing still runs template code, which is checked line by line).

What stopped a template is said in a :class:`LimitExceeded` (a Jinja error, turned into our
:class:`~docxreport.errors.TemplateError` with the part and paragraph by :mod:`docxreport.docx.prepared`).
The bundled template is ours: it renders without the line-by-line deadline, at full speed.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

import jinja2
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.nodes import Concat
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

#: the longest string or list an operator, filter or call may build (characters or items)
STRING_MAX = 10_000_000
#: the largest integer an operator may build, in bits (about 1,200 decimal digits)
INT_BITS_MAX = 4096
#: the largest integer argument of a filter or method call (a width, a count)
ARG_MAX = 100_000
#: the most items ``range`` may give
RANGE_MAX = 100_000
#: the most characters one rendered part may have
OUTPUT_MAX = 64_000_000
#: the longest one part may take to render, in seconds
SECONDS_MAX = 10.0
_LIPSUM_MAX = 20
_TEMPLATE_FILE = "<template>"
_DIGITS = re.compile(r"\d+")


class LimitExceeded(jinja2.exceptions.TemplateRuntimeError):
    """A template went past one of this module's bounds; the message says which."""


def _weight(value: Any, memo: dict[int, int] | None = None, depth: int = 0) -> int:
    """An upper bound of the characters ``value`` turns into: a string's length; a list's, tuple's or dict's
    items and everything they hold (shared items counted once per reference, computed once)."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, (list, tuple, dict)):
        return 0
    memo = {} if memo is None else memo
    known = memo.get(id(value))
    if known is not None:
        return known
    if depth > 32:
        return STRING_MAX + 1
    items = list(value.items()) if isinstance(value, dict) else value
    total = len(items)
    for item in items:
        if isinstance(item, tuple) and isinstance(value, dict):
            total += _weight(item[0], memo, depth + 1) + _weight(item[1], memo, depth + 1)
        else:
            total += _weight(item, memo, depth + 1)
        if total > STRING_MAX:
            break
    memo[id(value)] = total
    return total


_sized = _weight


def _check_result(value: Any, what: str) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > STRING_MAX:
        raise LimitExceeded(f"{what}的结果过长（{len(value)} 项，最多 {STRING_MAX} 项）")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > INT_BITS_MAX:
        raise LimitExceeded(f"{what}的结果数值过大（超过 {INT_BITS_MAX} 位二进制）")
    return value


def _check_format(text: Any, what: str) -> None:
    """A format string (``%09d``, ``{:>9}``) may not ask for a width or precision over :data:`ARG_MAX`."""
    if isinstance(text, str):
        for match in _DIGITS.finditer(text):
            digits = match.group()
            if len(digits) > 6 or int(digits) > ARG_MAX:
                raise LimitExceeded(f"{what}中的数字 {digits[:12]} 过大（格式宽度最多 {ARG_MAX}）")


def _check_args(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str, value: Any = None) -> None:
    """Refuse an integer argument over :data:`ARG_MAX`, and a call whose result could outgrow
    :data:`STRING_MAX`: at most (``value``'s length + 1) × (1 + the lengths of string arguments + integer
    arguments), an upper bound for ``replace``, ``indent``, ``center``, ``join``, ``wordwrap`` and their kind."""
    extra = 0
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool):
            if abs(arg) > ARG_MAX:
                raise LimitExceeded(f"{what}的参数 {str(arg)[:20]} 过大（最多 {ARG_MAX}）")
            extra += abs(arg)
        else:
            extra += _sized(arg)
    items = _sized(value)
    if items and (items + 1) * (1 + extra) > STRING_MAX:
        raise LimitExceeded(f"{what}的结果可能过长（{items} 项 × 参数），超过 {STRING_MAX} 项的限制")


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        # filters get the environment, eval context or context first when they ask for it
        rest = [a for a in args if not isinstance(a, (jinja2.Environment, jinja2.nodes.EvalContext, jinja2.runtime.Context))]
        value, params = (rest[0], tuple(rest[1:])) if rest else (None, ())
        what = f"过滤器 {name}"
        if name == "format":
            _check_format(value, what)
        _check_args(params, kwargs, what, value)
        return _check_result(function(*args, **kwargs), what)

    for attribute in ("jinja_pass_arg",):  # keep how Jinja passes the environment or context
        if hasattr(function, attribute):
            setattr(bounded, attribute, getattr(function, attribute))
    bounded.__name__ = getattr(function, "__name__", name)
    return bounded


def _range(*args: int) -> range:
    for arg in args:
        if not isinstance(arg, int) or abs(arg) > 10**12:
            raise LimitExceeded(f"range 的参数 {str(arg)[:20]} 无效或过大")
    values = range(*args)
    if len(values) > RANGE_MAX:
        raise LimitExceeded(f"range 最多 {RANGE_MAX} 项，实际 {len(values)} 项")
    return values


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 - Jinja's names
    if not all(isinstance(v, int) and 0 <= v <= 1000 for v in (n, min, max)) or n > _LIPSUM_MAX:
        raise LimitExceeded(f"lipsum 最多 {_LIPSUM_MAX} 段，每段最多 1000 词")
    return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))


_range.__name__, _lipsum.__name__ = "range", "lipsum"


class _BoundedGenerator(CodeGenerator):
    """Compiles ``~`` (concatenation) through :meth:`BoundedSandbox.concat`, which checks the length first."""

    @optimizeconst
    def visit_Concat(self, node: Concat, frame: Frame) -> None:  # noqa: N802 - Jinja's visitor name
        self.write("environment.bounded_concat(context, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the bounds of this module (see the module's text)."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.globals["range"] = _range
        self.globals["lipsum"] = _lipsum

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        what = f"运算“{operator}”"
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1 and \
                    right * max(abs(left).bit_length() - 1, 1) > INT_BITS_MAX:
                raise LimitExceeded(f"{what}的结果数值过大（超过 {INT_BITS_MAX} 位二进制）")
            if isinstance(right, (int, float)) and abs(right) > ARG_MAX:
                raise LimitExceeded(f"{what}的指数 {str(right)[:20]} 过大")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and not isinstance(times, bool) and \
                        max(_weight(seq), 1) * max(times, 0) > STRING_MAX:
                    raise LimitExceeded(f"{what}的结果过长（{len(seq)} × {str(times)[:20]} 项，最多 {STRING_MAX} 项）")
        elif operator == "+":
            if _sized(left) + _sized(right) > STRING_MAX:
                raise LimitExceeded(f"{what}的结果过长（最多 {STRING_MAX} 项）")
        elif operator == "%" and isinstance(left, str):
            _check_format(left, "格式化“%”")
            if _sized(right) * 2 + len(left) > STRING_MAX:
                raise LimitExceeded(f"{what}的结果过长（最多 {STRING_MAX} 项）")
        return _check_result(super().call_binop(context, operator, left, right), what)

    def bounded_concat(self, context: jinja2.runtime.Context, items: tuple[Any, ...]) -> str:
        if sum(_weight(x) for x in items) > STRING_MAX:
            raise LimitExceeded(f"运算“~”的结果过长（最多 {STRING_MAX} 个字符）")
        join = markup_join if context.eval_ctx.autoescape else str_join
        return join(items)  # type: ignore[no-any-return]

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        name = getattr(__obj, "__name__", "函数")
        # str.format reaches here wrapped by the sandbox (its formatter); the string is the wrapped method's
        owner = getattr(__obj, "__self__", None)
        if owner is None:
            owner = getattr(getattr(__obj, "__wrapped__", None), "__self__", None)
        what = f"调用 {name}"
        if isinstance(owner, str) and name in ("format", "format_map"):
            _check_format(owner, what)
        _check_args(args, kwargs, what, owner if isinstance(owner, (str, list, tuple)) else None)
        return _check_result(super().call(__context, __obj, *args, **kwargs), what)


def environment(autoescape: bool) -> BoundedSandbox:
    """The Jinja environment of every template part: sandboxed, bounded, undefined names are errors."""
    return BoundedSandbox(autoescape=autoescape, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


@contextmanager
def deadline(seconds: float = SECONDS_MAX) -> Iterator[None]:
    """Stop template code that runs longer than ``seconds`` (in this thread): each line of a compiled
    template checks the clock, so a loop that writes nothing is stopped too."""
    end = time.monotonic() + seconds
    previous = sys.gettrace()

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and time.monotonic() > end:
            raise LimitExceeded(f"模板渲染超过 {seconds:g} 秒，已停止（是否有过大的循环？）")
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == _TEMPLATE_FILE:
            return local
        return None

    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


def render_bounded(template: jinja2.Template, context: Mapping[str, Any], *, watched: bool = True) -> str:
    """``template`` rendered with ``context``, stopped past :data:`OUTPUT_MAX` characters and, when
    ``watched``, past :data:`SECONDS_MAX` seconds."""
    if not watched:
        out = template.render(context)
        if len(out) > OUTPUT_MAX:
            raise LimitExceeded(f"模板渲染结果过大（超过 {OUTPUT_MAX} 个字符）")
        return out
    pieces: list[str] = []
    size = 0
    with deadline():
        for piece in template.generate(context):
            size += len(piece)
            if size > OUTPUT_MAX:
                raise LimitExceeded(f"模板渲染结果过大（超过 {OUTPUT_MAX} 个字符）")
            pieces.append(piece)
    return "".join(pieces)
