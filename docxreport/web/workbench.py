"""The filing workbench: the report as a clerk knows it, in a browser, checked live by the service's own rules.

:func:`mount_workbench` adds to a service application (:func:`docxreport.web.server.create_app`)::

    GET  /                               the page: 基本信息, the six sections, the three tables as the national grid
    GET  /workbench/static/…             its scripts and style (from the package: nothing from elsewhere)
    GET  /workbench/tables.css           the column widths of the tables, from the format grid
    GET  /workbench/document             edit mode: the file being edited ({path, data})
    PUT  /workbench/document             edit mode: save the report (JSON or a workbook, by the file's suffix;
                                         atomically; the first save keeps a backup; never over another's change)
    POST /workbench/document/location    edit mode: where to save when the editor started without a file

The page is rendered with Jinja from the format grid (:func:`docxreport.html.grid.table_element` draws the
tables, an input in every data cell); the report itself is never put into the page by the server: the
script loads it as data and sets it with ``textContent``/``value`` only. Checking is ``POST /v1/validate``,
so the rules exist once, in Python. The page is served with a Content-Security-Policy that allows no inline
script or style.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from ..errors import DocxReportError
from ..files import write_atomic
from ..format import CellSpec, Format, Table, load_format
from ..html.grid import table_element
from ..outputs import sha256_file
from ..problems import Problem
from ..report.jsonfile import dumps, parse_json
from ..report.rules import expand_rules, sum_targets
from ..report.skeleton import PLACEHOLDER, skeleton
from .service import ApiError, Settings

STATIC = Path(__file__).resolve().parent / "static"

#: No inline script or style, nothing from another origin, no framing, no form posts, no <base>.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[.．、])")


# --------------------------------------------------------------------------- labels of the cells


def _plain_label(text: str) -> str:
    """A label without its form numbering (``一、``, ``（三）``, ``1.``): what a screen reader should say."""
    return _NUMBERING.sub("", text).strip()


def _covering(table: Table, row: int, col: int) -> CellSpec | None:
    if 0 <= row < table.grid_rows and 0 <= col < table.grid_columns:
        return table.grid[row][col]
    return None


def _column_labels(table: Table, cell: CellSpec) -> list[str]:
    """The header labels above a data cell, outermost first: the innermost always, outer ones that name a
    data-model node (``行政复议``), not the ones that merely group (``申请人情况``)."""
    found: list[CellSpec] = []
    if table.header_rows:
        rows = range(table.header_rows - 1, -1, -1)
    else:  # table 二: each block has its own label row right above its data rows
        rows = range(cell.row - 1, -1, -1)
    for r in rows:
        above = _covering(table, r, cell.col)
        if above is None or above.is_data:
            if table.header_rows:
                continue
            if found:
                break
            continue  # still among data rows of this block
        if above.role in ("subheader", "corner_note"):
            break
        if above not in found:
            found.append(above)
    kept = [c for i, c in enumerate(found) if i == 0 or c.names]
    return [_plain_label(c.text) for c in reversed(kept)]


def _row_labels(table: Table, cell: CellSpec) -> list[str]:
    """The labels left of a data cell in its row, outermost first."""
    labels: list[CellSpec] = []
    for c in range(cell.col - 1, -1, -1):
        left = _covering(table, cell.row, c)
        if left is None or left.is_data or left.role or left in labels:
            continue
        labels.append(left)
    return [_plain_label(c.text) for c in reversed(labels)]


def cell_names(table: Table) -> dict[str, str]:
    """Every data cell's accessible name: its row label and column label (``本年新收政府信息公开申请数量 自然人``)."""
    return {str(c.key): " ".join(_row_labels(table, c) + _column_labels(table, c)) for c in table.data_cells}


# --------------------------------------------------------------------------- the page


def _fill(names: dict[str, str], fees: frozenset[str], totals: frozenset[str]) -> Any:
    def fill(cell: CellSpec, td: etree._Element) -> None:
        key = str(cell.key)
        td.text = None
        td.set("data-row", str(cell.row))
        td.set("data-col", str(cell.col))
        td.set("data-span", str(cell.colspan))
        attributes = {
            "type": "text", "class": "cell", "id": "cell-" + key.replace(".", "-"), "data-key": key,
            "aria-label": names[key], "autocomplete": "off", "spellcheck": "false",
            "inputmode": "decimal" if key in fees else "numeric",
        }
        if key in totals:
            attributes["class"] = "cell total"
        etree.SubElement(td, "input", attributes)
    return fill


def _tables(fmt: Format) -> tuple[dict[str, str], str, dict[str, str]]:
    """Each table as HTML with an input in every data cell; the stylesheet of their column widths; the names."""
    fees = frozenset(k for k, spec in fmt.fields.items() if spec.get("value") == "fee")
    totals = sum_targets(fmt)
    html: dict[str, str] = {}
    css: list[str] = []
    all_names: dict[str, str] = {}
    for table in fmt.tables.values():
        names = cell_names(table)
        all_names.update(names)
        element = table_element(table, lambda c: c.text if not c.is_data else "", fill=_fill(names, fees, totals))
        for n, col in enumerate(element.iter("col"), 1):  # widths go to a stylesheet: the CSP allows no style attribute
            width = col.attrib.pop("style", "").removeprefix("width:")
            if width:
                css.append(f"#{table.id} col:nth-child({n}) {{ width: {width}; }}")
        html[table.id] = etree.tostring(element, method="html", encoding="unicode")
    return html, "\n".join(css) + "\n", all_names


def _config(fmt: Format, mode: str, auth: bool, html_download: bool) -> dict[str, Any]:
    sums = {c.target: list(c.terms) for c in expand_rules(fmt) if c.kind == "sum"}
    fresh = skeleton("", _dt.date.today().year - 1, fmt)
    for key in sum_targets(fmt):  # a new report states no totals: they are computed until one is typed over
        node = fresh
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node.pop(leaf, None)
    fresh["organ"] = ""
    return {
        "mode": mode,
        "auth": auth,
        "htmlDownload": html_download,
        "numbering": list(fmt.heading_numbering),
        "maxDepth": fmt.max_heading_depth - 1,  # levels below the section heading
        "titleLines": list(fmt.title_lines),
        "titleMaxLines": fmt.limits["title_max_lines"],
        "sections": [{"key": s.key, "heading": s.heading, "table": s.content if s.is_table else None} for s in fmt.sections],
        "sums": sums,
        "carry": [[c.target, c.terms[0]] for c in expand_rules(fmt) if c.kind == "previous"],
        "fees": sorted(k for k, spec in fmt.fields.items() if spec.get("value") == "fee"),
        "skeleton": fresh,
        "placeholder": PLACEHOLDER.format(topic="正文"),
        "fieldTitles": {k: v["title"] for k, v in fmt.fields.items() if "title" in v},
    }


_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The page's scripts and style, read once: served from memory, only these names (no path is looked up)."""
    return {p.name: (p.read_bytes(), _MEDIA_TYPES[p.suffix]) for p in sorted(STATIC.iterdir()) if p.suffix in _MEDIA_TYPES}


def _offers_html(app: FastAPI) -> bool:
    """Whether ``POST /v1/render`` renders web pages (``?format=html``): read from the API's own description."""
    try:
        operation = app.openapi()["paths"]["/v1/render"]["post"]
    except KeyError:  # no render endpoint at all
        return False
    for parameter in operation.get("parameters", []):
        if parameter.get("name") == "format":
            return "html" in json.dumps(parameter.get("schema", {}))
    return False


# --------------------------------------------------------------------------- edit mode: the file is the store


class DocumentError(DocxReportError):
    """The editor cannot use a path to save to, or cannot save there now."""


#: The files ``docxreport edit`` saves to, by suffix: report data as JSON, or an Excel workbook.
DOCUMENT_SUFFIXES = (".json", ".xlsx")


def _digest(path: Path | None) -> str | None:
    """What the file at ``path`` holds now (None: there is no file)."""
    if path is None or not path.exists():
        return None
    return sha256_file(path) or "unreadable"


def read_only(path: Path) -> bool:
    """Whether ``path`` is a read-only file, which ``docxreport edit`` must not replace (it would get round the
    protection its owner gave it)."""
    try:
        return not path.stat().st_mode & 0o222
    except OSError:
        return False  # no file: nothing to protect


def encode(path: Path, data: Any) -> bytes:
    """``data`` as the content of ``path``, chosen by its suffix: JSON text, or a workbook laid out as the
    national tables (:func:`docxreport.xlsx.writer.write_workbook`). Raises :class:`DocumentError` when a
    workbook cannot hold the data (the message names where)."""
    if path.suffix.lower() != ".xlsx":
        return dumps(data).encode("utf-8")
    from ..xlsx.writer import workbook_of

    content, problems = workbook_of(data)
    if content is None:
        first = problems[0]
        more = f"等 {len(problems)} 处" if len(problems) > 1 else ""
        raise DocumentError(f"{path.name}: 工作簿无法保存当前内容（{first.json_path}：{first.message}{more}）；"
                            "可用“保存数据”另存为 JSON")
    return content


@dataclass
class DocumentStore:
    """The file ``docxreport edit`` saves to (``.json``, or ``.xlsx``: a workbook): every save is atomic; the
    first save of a session first keeps the file as it was as ``FILE.bak`` (the version before this editing
    session). A file that another program (Excel, an editor) changed since it was read or last saved is
    not overwritten: the save is refused and says so."""

    path: Path | None
    data: Any
    backup_done: bool = False
    #: What reading the file met (a workbook's problems name the sheet and cell): shown by the page on opening.
    read_problems: list[Problem] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    on_disk: str | None = field(default=None, init=False, repr=False)  # the digest of what was read or saved

    def __post_init__(self) -> None:
        self.on_disk = _digest(self.path)

    @staticmethod
    def backup_path(path: Path) -> Path:
        return path.with_name(path.name + ".bak")

    def choose(self, path: Path) -> None:
        """Save to ``path`` from now on (the editor started without a file). Never an existing file."""
        path = path.expanduser()
        if path.suffix.lower() not in DOCUMENT_SUFFIXES:
            raise DocumentError(f"{path}: 请以 .json（报告数据）或 .xlsx（Excel 工作簿）结尾")
        if not path.parent.is_dir():
            raise DocumentError(f"{path}: 目录 {path.parent} 不存在")
        if path.exists():
            raise DocumentError(f"{path}: 文件已存在，为免覆盖请另选文件名")
        with self.lock:
            self.path = path.resolve()
            self.on_disk = None
            self.backup_done = True  # nothing to keep: the file is new

    def save(self, data: Any) -> Path:
        with self.lock:
            if self.path is None:
                raise DocumentError("尚未选择保存位置")
            content = encode(self.path, data)
            now = _digest(self.path)
            if now is None and self.on_disk is not None:
                raise DocumentError(f"{self.path}: 文件已被删除或移走，为免误存未保存；"
                                    "请先用“保存数据”另存当前内容，再重新运行 docxreport edit")
            if read_only(self.path):
                raise DocumentError(f"{self.path}: 文件为只读，为免覆盖未保存；请先用“保存数据”另存当前内容，"
                                    "或取消文件的只读属性")
            if now != self.on_disk:
                raise DocumentError(f"{self.path}: 文件已被其他程序修改（如 Excel、WPS 或编辑器），为免覆盖未保存；"
                                    "请先用“保存数据”另存当前内容，关闭其他程序后重新运行 docxreport edit")
            if not self.backup_done:
                if self.path.exists():
                    write_atomic(self.backup_path(self.path), self.path.read_bytes())
                self.backup_done = True
            write_atomic(self.path, content)
            self.on_disk = hashlib.sha256(content).hexdigest()
            self.data = data
            return self.path


def _check_key(request: Request, settings: Settings) -> None:
    if settings.api_key is None:
        return
    given = request.headers.get("x-api-key")
    if given is None:
        authorization = request.headers.get("authorization", "")
        given = authorization[7:] if authorization.lower().startswith("bearer ") else None
    if given is None or not hmac.compare_digest(given.encode("latin-1", "replace"), settings.api_key.encode("utf-8")):
        raise ApiError(401, "unauthorized", "未授权", "缺少或错误的密钥", headers={"WWW-Authenticate": "Bearer"})


# --------------------------------------------------------------------------- mounting


def document_store(app: FastAPI) -> DocumentStore | None:
    """The file the workbench of ``app`` edits (``docxreport edit``), or None (``docxreport serve``)."""
    return getattr(app.state, "workbench_store", None)


def use_document(app: FastAPI, store: DocumentStore) -> None:
    """Make the workbench of ``app`` edit ``store``'s file: the page loads the report from it and saves every
    change back. Without it (``docxreport serve``) the draft lives in the browser."""
    app.state.workbench_store = store


def mount_workbench(app: FastAPI, settings: Settings, *, fmt: Format | None = None) -> None:
    """Serve the workbench page at ``/`` of ``app`` (see the module's description)."""
    fmt = fmt or load_format()
    tables, table_css, _ = _tables(fmt)
    environment = Environment(loader=PackageLoader("docxreport.web", "templates"),
                              autoescape=select_autoescape(default=True, default_for_string=True))
    template = environment.get_template("workbench.html")
    page: dict[str, bytes] = {}

    def render_page() -> bytes:
        mode = "serve" if document_store(app) is None else "edit"
        if mode not in page:
            config = _config(fmt, mode, settings.api_key is not None, _offers_html(app))
            page[mode] = template.render(fmt=fmt, tables=tables, config=config,
                                         title_rows=range(1, fmt.limits["title_max_lines"] + 1)).encode("utf-8")
        return page[mode]

    def store_of(request: Request) -> DocumentStore:
        _check_key(request, settings)
        store = document_store(app)
        if store is None:
            raise ApiError(404, "not-found", "没有这个地址", "只有 docxreport edit 打开的页面保存到文件")
        return store

    @app.get("/", include_in_schema=False)
    async def workbench_page() -> Response:
        return Response(render_page(), media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    @app.get("/workbench/tables.css", include_in_schema=False)
    async def workbench_table_css() -> Response:
        return Response(table_css, media_type="text/css; charset=utf-8", headers={"X-Content-Type-Options": "nosniff"})

    static = _static_files()

    @app.get("/workbench/static/{name}", include_in_schema=False)
    async def workbench_static(name: str) -> Response:
        if name not in static:
            raise ApiError(404, "not-found", "没有这个地址", f"没有这个文件：{name}")
        content, media_type = static[name]
        return Response(content, media_type=media_type, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})

    @app.get("/workbench/document", include_in_schema=False)
    async def document_get(request: Request) -> Response:
        store = store_of(request)
        body = {"path": str(store.path) if store.path else None, "data": store.data,
                "problems": [p.to_dict() for p in store.read_problems],
                "suggested": str(Path.cwd() / "政府信息公开工作年度报告.json")}
        return Response(dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})

    @app.put("/workbench/document", include_in_schema=False)
    async def document_put(request: Request) -> Response:
        store = store_of(request)
        raw = await request.body()
        if len(raw) > settings.max_body_bytes:
            raise ApiError(413, "too-large", "请求正文过大", f"超过 {settings.max_body_bytes} 字节")
        data, problems = parse_json(raw)
        if data is None and problems:
            raise ApiError(400, "invalid-json", "请求正文不是有效的 JSON", problems[0].message, problems)
        try:
            path = store.save(data)
        except DocxReportError as exc:
            raise ApiError(409, "cannot-save", "无法保存", str(exc)) from None
        return Response(json.dumps({"path": str(path), "saved": _dt.datetime.now().isoformat(timespec="seconds")},
                                   ensure_ascii=False), media_type="application/json")

    @app.post("/workbench/document/location", include_in_schema=False)
    async def document_location(request: Request) -> Response:
        store = store_of(request)
        try:
            given = json.loads(await request.body())["path"]
            if not isinstance(given, str) or not given.strip():
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "bad-path", "路径无效", "请给出保存文件的路径") from None
        try:
            store.choose(Path(given.strip()))
        except DocxReportError as exc:
            raise ApiError(409, "cannot-save", "无法保存到该位置", str(exc)) from None
        return Response(json.dumps({"path": str(store.path)}, ensure_ascii=False), media_type="application/json")


__all__ = ["CONTENT_SECURITY_POLICY", "DOCUMENT_SUFFIXES", "DocumentError", "DocumentStore", "cell_names", "document_store", "encode", "mount_workbench",
           "read_only", "use_document"]
