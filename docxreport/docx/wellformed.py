"""Proving, once per template part, that its renders are well-formed XML, so that a render need not parse.

A rendered part is the template's XML with each ``{{ … }}`` replaced by a value and the stretches between
``{% if %}``/``{% elif %}``/``{% else %}``/``{% endif %}`` (or ``{% for %}``/``{% endfor %}``) kept, dropped
or repeated. If

- the template's XML with its tags left out is well-formed, no tag sits inside another's markup (an
  attribute, a comment), no entity is cut by a tag, and each stretch between the tags of one statement
  leaves the open elements as it found them (it may close and reopen them, as docxtpl's paragraph-joining
  ``{% if %}`` does): then dropping or repeating stretches keeps the XML well-formed;
- every ``{{ … }}`` only looks a value up (``a``, ``a.b``, ``a['b']``): no filters, calls or ``|safe`` that
  could make markup in the template itself, and there is no other statement (``set``, macros, includes);
- and the values are *trusted*: text that XML can hold (escaped on output) and ``Markup`` that is
  well-formed content (the renderer's own paragraphs, built with lxml from validated data),

then every render is well-formed. A part that cannot be proven this way is parsed after every render, as
before. The renderer relies on the proof only for contexts it built itself from validated data
(:meth:`PreparedTemplate.render`'s ``trusted``), and never after docxtpl's tab and line-break rewriting.
"""

from __future__ import annotations

import re

from jinja2 import Environment, nodes

_JINJA_START = re.compile(r"\{[{%#]")
_JINJA_END = {"{{": "}}", "{%": "%}", "{#": "#}"}


class _Tag:
    """A Jinja tag found in a part's source: its text and where it starts and ends."""

    def __init__(self, source: str, start: int, end: int) -> None:
        self._source, self._start, self._end = source, start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self) -> str:
        return self._source[self._start:self._end]


def _jinja_tags(source: str) -> list[_Tag]:
    """Each ``{{ … }}``, ``{% … %}`` and ``{# … #}`` in order, each ending at the first closing delimiter
    (as a lazy ``.*?`` would), found with :meth:`str.find` so that an opening without a closing costs one
    scan in all, not one per opening."""
    tags: list[_Tag] = []
    position, closed = 0, set(_JINJA_END)
    while closed:
        start = _JINJA_START.search(source, position)
        if start is None:
            break
        opening = start.group()
        if opening not in closed:
            position = start.start() + 1
            continue
        end = source.find(_JINJA_END[opening], start.end())
        if end < 0:
            closed.discard(opening)  # no closing after here: none after any later opening either
            position = start.start() + 1
            continue
        tags.append(_Tag(source, start.start(), end + 2))
        position = end + 2
    return tags
_XML_TAG = re.compile(r"<(/?)([A-Za-z_][\w.:-]*)(?:\s[^<>]*?)?(/?)>")
_PARTIAL_ENTITY = re.compile(r"&(?!(?:[A-Za-z][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);)")
_TABLE = re.compile(r"<w:tbl[ >]|</w:tbl>")
# statements whose output or names are made inside the template itself
_UNPROVEN = (nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With,
             nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block, nodes.Scope,
             nodes.OverlayScope, nodes.EvalContextModifier)


class _Unproven(Exception):
    pass


def _scan(text: str, stack: list[str]) -> None:
    """Follow ``text``'s elements on ``stack``; raise when a tag, comment or entity is cut at its end."""
    if "<!" in text or "<?" in text:  # comments, CDATA, declarations: not worth reasoning about
        raise _Unproven
    position = 0
    for match in _XML_TAG.finditer(text):
        between = text[position:match.start()]
        if "<" in between or _PARTIAL_ENTITY.search(between):
            raise _Unproven
        closing, name, empty = match.groups()
        if closing:
            if empty or not stack or stack.pop() != name:
                raise _Unproven
        elif not empty:
            stack.append(name)
        position = match.end()
    rest = text[position:]
    if "<" in rest or _PARTIAL_ENTITY.search(rest):
        raise _Unproven


def balanced(text: str) -> bool:
    """True when ``text`` is complete XML content: text and whole elements, opened and closed within it."""
    stack: list[str] = []
    try:
        _scan(text, stack)
    except _Unproven:
        return False
    return not stack


_STATEMENT = re.compile(r"\{%[-+]?\s*(\w+)")
_OPENS, _BRANCHES, _CLOSES = {"if", "for"}, {"elif", "else"}, {"endif", "endfor"}


def _structure_balanced(source: str) -> bool:
    """The XML around the tags is well-formed and each statement's stretches are balanced (see above)."""
    stack: list[str] = []
    marks: list[list[str]] = []  # the element stack where each open statement began
    position = 0
    try:
        for tag in _jinja_tags(source):
            _scan(source[position:tag.start()], stack)
            position = tag.end()
            text = tag.group()
            if not text.startswith("{%"):
                continue  # an expression in element content, or a comment
            statement = _STATEMENT.match(text)
            word = statement.group(1) if statement else ""
            if word in _OPENS:
                marks.append(list(stack))
            elif word in _BRANCHES or word in _CLOSES:
                if not marks or marks[-1] != stack:
                    return False
                if word in _CLOSES:
                    marks.pop()
            else:
                return False
        _scan(source[position:], stack)
    except _Unproven:
        return False
    return not stack and not marks


def _lookup(node: nodes.Node) -> bool:
    """``a``, ``a.b``, ``a['b']``, ``a[0]``: a value taken from the context as it is."""
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            return False
        node = node.node
    return isinstance(node, nodes.Name)


def renders_well_formed(source: str, env: Environment) -> bool:
    """True when every render of ``source`` with trusted values is well-formed XML (see above)."""
    if not _structure_balanced(source):
        return False
    tree = env.parse(source)
    if any(True for _ in tree.find_all(_UNPROVEN)):
        return False
    for output in tree.find_all(nodes.Output):
        for child in output.nodes:
            if not isinstance(child, nodes.TemplateData) and not _lookup(child):
                return False
    return True


def tables_without_statements(source: str) -> bool:
    """True when no ``{% … %}`` lies inside a table (``w:tbl``, outermost): the table structure of every
    render is the template's own (rows and cells are neither repeated nor dropped)."""
    depth, start = 0, 0
    for match in _TABLE.finditer(source):
        if match.group().startswith("</"):
            depth -= 1
            if depth == 0 and "{%" in source[start:match.start()]:
                return False
        else:
            if depth == 0:
                start = match.end()
            depth += 1
    return depth == 0
