"""The filing workbench on the server side: the page drawn from the format grid, its security headers, the
cross-year checking it relies on, the file store of ``docxreport edit`` and the command itself.

What the page does in a browser is tested in ``test_workbench_browser.py``.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from docxreport.format import load_format

for _module in ("fastapi", "uvicorn", "httpx", "python_multipart", "jinja2"):
    try:
        importlib.import_module(_module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"the server extra is not installed ({_module})", allow_module_level=True)

from fastapi.testclient import TestClient  # noqa: E402

from docxreport.web.server import create_app  # noqa: E402
from docxreport.web.service import Settings  # noqa: E402
from docxreport.web.workbench import CONTENT_SECURITY_POLICY, DocumentStore, cell_names, use_document  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_2024 = ROOT / "examples" / "county-bureau-2024.json"
EXAMPLE_2023 = ROOT / "examples" / "county-bureau-2023.json"
FMT = load_format()
WITH = {"Content-Type": "application/vnd.docxreport.with-previous+json"}


def _with(report: Any, previous: Any) -> str:
    return json.dumps({"report": report, "previous": previous}, ensure_ascii=False)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


@pytest.fixture(scope="module")
def page(client: TestClient) -> Any:
    response = client.get("/")
    assert response.status_code == 200
    return lxml_html.fromstring(response.content)


# --------------------------------------------------------------------------- the page


def test_page_is_served_with_a_strict_content_security_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'none'" and directives["connect-src"] == "'self'"
    assert "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def test_page_has_no_inline_script_or_style_and_nothing_from_elsewhere(page: Any) -> None:
    for script in page.iter("script"):
        # an executable script comes from this server; the configuration is a data block, never run
        assert script.get("src", "").startswith("/workbench/") or script.get("type") == "application/json"
        if script.get("src"):
            assert not (script.text or "").strip()
    assert not page.xpath("//style"), "inline <style> elements are refused by the CSP"
    assert not page.xpath("//*[@style]"), "style attributes are refused by the CSP"
    assert not page.xpath("//*[starts-with(name(@*), 'on')]") and not re.search(r"\son\w+=", lxml_html.tostring(page, encoding="unicode"))
    for element in page.xpath("//*[@src or @href]"):
        address = element.get("src") or element.get("href")
        assert address.startswith(("/", "#", "data:")), address


def test_static_files_and_table_widths_are_served_from_the_package(client: TestClient, page: Any) -> None:
    for address in [e.get("src") or e.get("href") for e in page.xpath("//script[@src] | //link[@rel='stylesheet']")]:
        response = client.get(address)
        assert response.status_code == 200, address
        assert response.content
    css = client.get("/workbench/tables.css").text
    table = FMT.tables["table3"]
    total = sum(table.column_widths)
    assert f"#table3 col:nth-child(1) {{ width: {table.column_widths[0] * 100 / total:.2f}%; }}" in css
    module = client.get("/workbench/static/workbench.js")
    assert "javascript" in module.headers["content-type"]
    assert "innerHTML" not in module.text and "insertAdjacentHTML" not in module.text and "outerHTML" not in module.text
    assert "innerHTML" not in client.get("/workbench/static/blocks.js").text
    for address in ("/workbench/static/../workbench.py", "/workbench/static/..%2Fworkbench.py", "/workbench/static/nothing.js"):
        assert client.get(address).status_code == 404, address


def test_basic_fields_have_labels_with_exactly_their_text(page: Any) -> None:
    labels = {label.text_content(): label.get("for") for label in page.iter("label")}
    for text in ("机关名称", "年度", "成文日期", "标题第一行", "标题第二行", "标题第三行"):
        assert text in labels, text
        assert page.get_element_by_id(labels[text]).tag == "input"


def test_tables_are_the_format_grid_with_an_input_in_every_data_cell(page: Any) -> None:
    for table in FMT.tables.values():
        element = page.get_element_by_id(table.id)
        rows = element.xpath(".//tr")
        assert len(rows) == table.grid_rows
        for r, tr in enumerate(rows):
            cells = [c for c in dict.fromkeys(table.grid[r]) if c.row == r]
            assert len(tr.xpath("./th|./td")) == len(cells)
            for spec, cell in zip(cells, tr.xpath("./th|./td")):
                assert int(cell.get("rowspan", 1)) == spec.rowspan and int(cell.get("colspan", 1)) == spec.colspan
                if spec.is_data:
                    inputs = cell.xpath("./input")
                    assert len(inputs) == 1 and inputs[0].get("data-key") == spec.key
                else:
                    assert cell.tag == "th" and cell.text_content() == spec.text
    keys = [i.get("data-key") for i in page.xpath("//input[contains(@class, 'cell')]")]
    assert keys == list(FMT.data_keys)


def test_every_cell_is_named_by_its_row_label_and_column_label(page: Any) -> None:
    names = {i.get("data-key"): i.get("aria-label") for i in page.xpath("//input[contains(@class, 'cell')]")}
    assert names["requests.received.natural"] == "本年新收政府信息公开申请数量 自然人"
    assert names["requests.carried_over.total"] == "上年结转政府信息公开申请数量 总计"
    assert names["requests.received.legal"] == "本年新收政府信息公开申请数量 法律服务机构"
    assert names["requests.outcomes.withheld.state_secret.research"] == "本年度办理结果 不予公开 属于国家秘密 科研机构"
    assert names["proactive.regulations.issued"] == "规章 本年制发件数"
    assert names["proactive.fees"] == "行政事业性收费 本年收费金额（单位：万元）"
    assert names["appeals.review.upheld"] == "行政复议 结果维持"
    assert names["appeals.litigation.pending"] == "未经复议直接起诉 尚未审结"
    assert names["appeals.litigation_after_review.total"] == "复议后起诉 总计"
    assert len(set(names.values())) == len(names), "two cells with one name cannot be told apart"
    assert names == {k: v for t in FMT.tables.values() for k, v in cell_names(t).items()}


def test_sections_appear_in_the_format_order_with_their_headings(page: Any) -> None:
    headings = [h.text_content() for h in page.xpath("//main//h2")]
    assert headings[:2] == ["基本信息", "引言（可选，位于“一、总体情况”之前）"]
    assert headings[2:] == [s.heading for s in FMT.sections]
    for section in FMT.sections:
        container = page.get_element_by_id(f"section-{section.key}")
        if section.is_table:
            assert container.xpath(f".//table[@id='{section.content}']")
        else:
            assert container.xpath(f".//ol[@data-section='{section.key}']")


def test_configuration_is_derived_from_the_format(page: Any) -> None:
    config = json.loads(page.get_element_by_id("workbench-config").text)
    assert config["mode"] == "serve" and config["auth"] is False
    assert config["sums"]["requests.received.total"] == [f"requests.received.{c}" for c in FMT.lists["applicant_columns"]]
    assert ["requests.carried_over.natural", "requests.carried_forward.natural"] in config["carry"]
    assert config["numbering"] == list(FMT.heading_numbering)
    # a new report states no totals: they are computed until one is typed over
    assert "total" not in config["skeleton"]["requests"]["received"]
    assert config["skeleton"]["requests"]["received"]["natural"] == 0


def test_html_download_is_offered_only_when_the_service_renders_web_pages(page: Any, client: TestClient) -> None:
    config = json.loads(page.get_element_by_id("workbench-config").text)
    parameters = client.get("/openapi.json").json()["paths"]["/v1/render"]["post"]["parameters"]
    renders_html = "html" in json.dumps(next(p for p in parameters if p["name"] == "format"))
    assert config["htmlDownload"] is renders_html


def test_the_page_says_when_a_key_is_needed() -> None:
    with TestClient(create_app(Settings(api_key="secret"))) as client:
        response = client.get("/")
        assert response.status_code == 200  # the page holds no data: it asks for the key itself
        config = json.loads(lxml_html.fromstring(response.content).get_element_by_id("workbench-config").text)
        assert config["auth"] is True
        assert client.post("/v1/validate", json={}).status_code == 401


# --------------------------------------------------------------------------- validate with last year's report


def test_validate_checks_the_cross_year_rule_with_previous(client: TestClient) -> None:
    this = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    last = json.loads(EXAMPLE_2023.read_text(encoding="utf-8"))
    assert client.post("/v1/validate", json=this).json()["valid"] is True
    result = client.post("/v1/validate", content=_with(this, last), headers=WITH).json()
    assert result["valid"] is True, result  # the examples agree with each other
    broken = copy.deepcopy(this)
    broken["requests"]["carried_over"]["natural"] += 1
    broken["requests"]["received"]["natural"] -= 1  # keep the balance: only the cross-year rule fails
    broken["requests"]["received"].pop("total", None)
    broken["requests"]["carried_over"].pop("total", None)
    alone = client.post("/v1/validate", json=broken).json()
    assert not [p for p in alone["problems"] if p["rule"] == "cross_year"]
    result = client.post("/v1/validate", content=_with(broken, last), headers=WITH).json()
    cross = [p for p in result["problems"] if p["rule"] == "cross_year"]
    assert [p["path"] for p in cross] == ["requests.carried_over.natural", "requests.carried_over.total"]
    assert "上年" in cross[0]["message"]
    # the report's own paths, not paths inside the wrapper
    assert all(not p["path"].startswith("report") for p in result["problems"])


def test_validate_warns_when_previous_is_another_bodys_or_years(client: TestClient) -> None:
    this = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    last = json.loads(EXAMPLE_2023.read_text(encoding="utf-8"))
    last["organ"], last["year"] = "另一个机关", 2021
    result = client.post("/v1/validate", content=_with(this, last), headers=WITH).json()
    assert result["valid"] is True
    assert sorted((p["path"], p["severity"]) for p in result["problems"]) == [("organ", "warning"), ("year", "warning")]
    result = client.post("/v1/validate", content=json.dumps({"report": this, "previous": None}), headers=WITH).json()
    assert result["valid"] is True and result["problems"] == []


def test_validate_with_previous_refuses_other_bodies(client: TestClient) -> None:
    this = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    for body in (json.dumps(this), json.dumps({"report": this, "other": 1}), "[]"):
        response = client.post("/v1/validate", content=body, headers=WITH)
        assert response.status_code == 400 and "previous" in response.json()["detail"], body[:40]
    assert client.post("/v1/validate", content="{oops", headers=WITH).status_code == 400
    # a plain report body is a report, whatever keys it holds
    this["report"] = {}
    result = client.post("/v1/validate", json=this).json()
    assert result["valid"] is False and any(p["path"] in ("report", "$") for p in result["problems"])


def test_openapi_documents_the_previous_report(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/v1/validate"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AnnualReport"}
    wrapper = body["content"][WITH["Content-Type"]]["schema"]
    assert set(wrapper["properties"]) == {"report", "previous"} and wrapper["required"] == ["report"]
    assert "previous" in body["description"]


# --------------------------------------------------------------------------- edit mode: the file store


def _edit_client(store: DocumentStore) -> TestClient:
    app = create_app(Settings(api_key="token-123"))
    use_document(app, store)
    return TestClient(app)


KEY = {"X-API-Key": "token-123"}


def test_edit_saves_atomically_and_keeps_the_version_before_the_session(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    original = EXAMPLE_2024.read_bytes()
    path.write_bytes(original)
    data = json.loads(original)
    with _edit_client(DocumentStore(path, data)) as client:
        assert client.get("/workbench/document").status_code == 401
        assert client.put("/workbench/document", json={"organ": "x"}).status_code == 401
        assert path.read_bytes() == original
        loaded = client.get("/workbench/document", headers=KEY).json()
        assert loaded["path"] == str(path) and loaded["data"] == data
        page = lxml_html.fromstring(client.get("/").content)
        assert json.loads(page.get_element_by_id("workbench-config").text)["mode"] == "edit"
        for organ in ("第一次", "第二次"):
            data["organ"] = organ
            response = client.put("/workbench/document", json=data, headers=KEY)
            assert response.status_code == 200, response.text
            assert json.loads(path.read_text(encoding="utf-8"))["organ"] == organ
        assert (tmp_path / "report.json.bak").read_bytes() == original  # not the first save: the file as it was
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.json.bak"]  # no temporary left
        bad = client.put("/workbench/document", content=b"{not json", headers=KEY)
        assert bad.status_code == 400
        assert json.loads(path.read_text(encoding="utf-8"))["organ"] == "第二次"


def test_edit_without_a_file_asks_where_and_never_overwrites(tmp_path: Path) -> None:
    existing = tmp_path / "existing.json"
    existing.write_text("{}", encoding="utf-8")
    with _edit_client(DocumentStore(None, None, backup_done=True)) as client:
        assert client.get("/workbench/document", headers=KEY).json()["path"] is None
        response = client.put("/workbench/document", json={"organ": "x"}, headers=KEY)
        assert response.status_code == 409 and "保存位置" in response.json()["detail"]
        for path, words in ((existing, "已存在"), (tmp_path / "x.docx", ".json"), (tmp_path / "no" / "x.json", "不存在")):
            response = client.post("/workbench/document/location", json={"path": str(path)}, headers=KEY)
            assert response.status_code == 409 and words in response.json()["detail"], response.text
        assert existing.read_text(encoding="utf-8") == "{}"
        target = tmp_path / "new.json"
        assert client.post("/workbench/document/location", json={"path": str(target)}, headers=KEY).status_code == 200
        assert client.put("/workbench/document", json={"organ": "新"}, headers=KEY).status_code == 200
        assert json.loads(target.read_text(encoding="utf-8")) == {"organ": "新"}
        assert not (tmp_path / "new.json.bak").exists()


def test_edit_never_replaces_a_read_only_file_nor_recreates_a_deleted_one(tmp_path: Path) -> None:
    """A read-only file was replaced by the first save (an atomic rename gets round the file's own mode), and a
    file deleted while editing was refused as "modified by another program". Both are refused, saying why."""
    path = tmp_path / "report.json"
    original = EXAMPLE_2024.read_bytes()
    path.write_bytes(original)
    path.chmod(0o444)
    data = json.loads(original)
    with _edit_client(DocumentStore(path, data)) as client:
        data["organ"] = "改过"
        response = client.put("/workbench/document", json=data, headers=KEY)
        assert response.status_code == 409 and "只读" in response.json()["detail"] and str(path) in response.json()["detail"]
        assert path.read_bytes() == original and not (tmp_path / "report.json.bak").exists()
        path.chmod(0o644)
        assert client.put("/workbench/document", json=data, headers=KEY).status_code == 200
        path.unlink()
        response = client.put("/workbench/document", json=data, headers=KEY)
        assert response.status_code == 409 and "已被删除或移走" in response.json()["detail"]
        assert not path.exists() and (tmp_path / "report.json.bak").read_bytes() == original


def _workbook_value(path: Path, sheet: str, key: str) -> Any:
    """A data cell of a workbook as read back by the project's reader (and what reading it met)."""
    from docxreport.report.rules import get_path
    from docxreport.xlsx.reader import read_workbook

    data, problems = read_workbook(path.read_bytes(), path.name)
    return get_path(data, key), problems


def test_edit_saves_a_workbook_as_a_workbook_and_keeps_the_one_before(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from docxreport.xlsx.reader import read_workbook
    from docxreport.xlsx.writer import write_workbook

    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    path = tmp_path / "report.xlsx"
    original = write_workbook(data)
    path.write_bytes(original)
    with _edit_client(DocumentStore(path, data)) as client:
        for n in (7, 8):
            data["requests"]["received"]["natural"] = n
            data["requests"]["received"].pop("total", None)  # the page sends no total it did not type
            response = client.put("/workbench/document", json=data, headers=KEY)
            assert response.status_code == 200, response.text
            value, problems = _workbook_value(path, "表三", "requests.received.natural")
            assert value == n and not [p for p in problems if p.severity == "error"]
    # an Excel workbook, laid out as the national tables: the cell of 自然人 on the row of 本年新收
    sheet = load_workbook(path)["表三"]
    row = next(r for r in range(1, 40) if "本年新收" in str(sheet.cell(r, 1).value) + str(sheet.cell(r, 2).value))
    assert 8 in [sheet.cell(row, c).value for c in range(1, 12)]
    assert (tmp_path / "report.xlsx.bak").read_bytes() == original
    assert read_workbook(original, "bak")[0]["requests"]["received"]["natural"] == json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))["requests"]["received"]["natural"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx", "report.xlsx.bak"]  # no temporary left


def test_a_workbook_keeps_what_the_clerk_typed_and_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    path = tmp_path / "report.xlsx"
    with _edit_client(DocumentStore(None, None, backup_done=True)) as client:
        assert client.post("/workbench/document/location", json={"path": str(path)}, headers=KEY).status_code == 200
        typed = copy.deepcopy(data)
        typed["organ"] = ""  # not filled in yet: saved, the workbook says so at its cell when read
        typed["requests"]["received"]["business"] = "六"  # kept as typed in its cell
        assert client.put("/workbench/document", json=typed, headers=KEY).status_code == 200
        from docxreport.xlsx.reader import read_workbook

        _, problems = read_workbook(path.read_bytes(), path.name)
        where = {p.message for p in problems}
        assert any("基本信息!B2" in m for m in where) and any("六" in m and "表三!E5" in m for m in where), where
        saved = path.read_bytes()
        for misfit, at in (({**data, "notes": "备注"}, "notes"), ({**data, "overview": "一段文字"}, "overview")):
            response = client.put("/workbench/document", json=misfit, headers=KEY)
            assert response.status_code == 409, response.text
            assert at in response.json()["detail"] and "保存数据" in response.json()["detail"]
            assert path.read_bytes() == saved


@pytest.mark.parametrize("suffix", [".json", ".xlsx"])
def test_edit_never_overwrites_a_change_made_by_another_program(tmp_path: Path, suffix: str) -> None:
    from docxreport.xlsx.writer import write_workbook

    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    path = tmp_path / f"report{suffix}"
    path.write_bytes(write_workbook(data) if suffix == ".xlsx" else EXAMPLE_2024.read_bytes())
    with _edit_client(DocumentStore(path, data)) as client:
        assert client.put("/workbench/document", json={**data, "organ": "页面"}, headers=KEY).status_code == 200
        time.sleep(0.01)
        theirs = write_workbook({**data, "organ": "Excel 中改的"}) if suffix == ".xlsx" else b'{"organ": "Excel"}'
        path.write_bytes(theirs)  # saved in Excel (or an editor) while the page is open
        response = client.put("/workbench/document", json={**data, "organ": "页面又改"}, headers=KEY)
        assert response.status_code == 409 and "其他程序修改" in response.json()["detail"], response.text
        assert path.read_bytes() == theirs
        path.unlink()  # removed meanwhile: not recreated behind anyone's back either
        assert client.put("/workbench/document", json=data, headers=KEY).status_code == 409
        assert not path.exists()


def test_render_gives_the_data_as_a_workbook_even_with_errors(client: TestClient) -> None:
    from docxreport.xlsx.reader import read_workbook

    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    data["appeals"]["review"]["upheld"] += 1  # its stated total no longer adds up: an error
    response = client.post("/v1/render?format=xlsx", json=data)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in response.headers["content-disposition"] and ".xlsx" in response.headers["content-disposition"]
    assert int(response.headers["x-report-errors"]) >= 1
    back, problems = read_workbook(response.content, "下载的工作簿")
    assert back["appeals"]["review"] == data["appeals"]["review"]
    assert back["requests"]["received"]["natural"] == data["requests"]["received"]["natural"]
    assert back["overview"] == data["overview"] and back["organ"] == data["organ"]
    from docxreport.report.validation import validate

    assert not problems  # read back as written: the total that does not add up is kept as stated …
    assert any(p.severity == "error" and p.path[:2] == ("appeals", "review") for p in validate(back))  # … and found
    refused = client.post("/v1/render?format=xlsx", json={**data, "notes": "备注"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["path"] == "notes"
    assert client.post("/v1/render?format=xlsx&pdfa=true", json=data).status_code == 400
    assert "xlsx" in json.dumps(client.get("/openapi.json").json()["paths"]["/v1/render"]["post"]["parameters"])


def test_serve_mode_has_no_document_store(client: TestClient) -> None:
    assert client.get("/workbench/document").status_code == 404
    assert client.put("/workbench/document", json={}).status_code == 404


# --------------------------------------------------------------------------- docxreport edit


def _docxreport(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, text=True, timeout=60, **kwargs)


def test_edit_refuses_files_it_cannot_edit(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{\"organ\": ", encoding="utf-8")
    result = _docxreport("edit", str(broken), "--no-browser")
    assert result.returncode == 2 and "不是有效的 JSON" in result.stderr and "Traceback" not in result.stderr
    assert broken.read_text(encoding="utf-8") == "{\"organ\": "
    book = tmp_path / "report.xlsx"
    book.write_bytes(b"PK")
    result = _docxreport("edit", str(book), "--no-browser")
    assert result.returncode == 2 and ".xlsx" in result.stderr
    result = _docxreport("edit", str(tmp_path / "missing" / "r.json"), "--no-browser")
    assert result.returncode == 2 and "不存在" in result.stderr
    locked = tmp_path / "locked.json"
    locked.write_bytes(EXAMPLE_2024.read_bytes())
    locked.chmod(0o444)
    result = _docxreport("edit", str(locked), "--no-browser")
    assert result.returncode == 2 and "只读" in result.stderr and str(locked) in result.stderr and "Traceback" not in result.stderr


def test_a_workbook_with_a_password_is_named_as_such(tmp_path: Path) -> None:
    """A password-protected .xlsx is a Compound File holding an ``EncryptedPackage`` stream, whose directory
    entry may stand after the encrypted bytes: it was "无法识别的文件；文件可能已损坏", which sends the clerk the
    wrong way. It is now named for what it is, with what to do."""
    from docxreport.filetypes import sniff
    from docxreport.sources import WrongKindError, read_data

    directory_entry = "EncryptedPackage".encode("utf-16-le")
    raw = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + bytes(range(256)) * 400 + directory_entry  # past 64 KB
    assert sniff(raw, "report.xlsx") == "encrypted"
    with pytest.raises(WrongKindError, match="打开密码"):
        read_data(raw, "report.xlsx")
    book = tmp_path / "report.xlsx"
    book.write_bytes(raw)
    result = _docxreport("edit", str(book), "--no-browser")
    assert result.returncode == 2 and "设置了打开密码" in result.stderr and str(book) in result.stderr
    assert "损坏" not in result.stderr and "Traceback" not in result.stderr and book.read_bytes() == raw


def test_edit_prints_a_local_address_with_a_token_and_serves_the_file(tmp_path: Path) -> None:
    import httpx

    path = tmp_path / "report.json"
    path.write_bytes(EXAMPLE_2024.read_bytes())
    process = subprocess.Popen([sys.executable, "-m", "docxreport", "edit", str(path), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base, token = _started(process)
        response = httpx.get(base + "/workbench/document", headers={"X-API-Key": token}, trust_env=False)
        assert response.json()["data"]["organ"] == "某某县自然资源局"
        assert httpx.get(base + "/workbench/document", trust_env=False).status_code == 401
        assert httpx.get(base + "/", trust_env=False).status_code == 200
    finally:
        process.terminate()
        process.wait(20)
    assert path.read_bytes() == EXAMPLE_2024.read_bytes()


def _started(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The base address and token ``docxreport edit`` printed, once it answers."""
    import httpx

    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/#key=([\w-]{20,})", line)
    assert match, line
    base, token = f"http://127.0.0.1:{match.group(1)}", match.group(2)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/healthz", trust_env=False)
            return base, token
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_edit_a_workbook_in_a_real_process(tmp_path: Path) -> None:
    import httpx

    from docxreport.xlsx.writer import write_workbook

    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    path = tmp_path / "报告.xlsx"
    original = write_workbook(data)
    path.write_bytes(original)
    process = subprocess.Popen([sys.executable, "-m", "docxreport", "edit", str(path), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base, token = _started(process)
        loaded = httpx.get(base + "/workbench/document", headers={"X-API-Key": token}, trust_env=False).json()
        assert loaded["path"] == str(path) and loaded["problems"] == []
        report = loaded["data"]
        assert report["organ"] == data["organ"] and report["appeals"] == json.loads(json.dumps(rules_complete(data)["appeals"]))
        report["proactive"]["licensing"] = 4321
        started = time.monotonic()
        response = httpx.put(base + "/workbench/document", json=report, headers={"X-API-Key": token}, trust_env=False)
        assert response.status_code == 200, response.text
        assert time.monotonic() - started < 1
    finally:
        process.terminate()
        process.wait(20)
    value, problems = _workbook_value(path, "表二", "proactive.licensing")
    assert value == 4321 and not [p for p in problems if p.severity == "error"]
    assert (tmp_path / "报告.xlsx.bak").read_bytes() == original


def rules_complete(data: Any) -> Any:
    from docxreport.report.rules import complete

    return complete(data, FMT)


def test_edit_opens_a_workbook_with_problems_and_names_their_cells(tmp_path: Path) -> None:
    import httpx
    from openpyxl import load_workbook

    from docxreport.xlsx.writer import write_workbook

    path = tmp_path / "report.xlsx"
    path.write_bytes(write_workbook(json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))))
    book = load_workbook(path)
    book["表三"]["D5"] = "=1+1"  # a formula where a number belongs
    book.save(path)
    before = path.read_bytes()
    process = subprocess.Popen([sys.executable, "-m", "docxreport", "edit", str(path), "--no-browser"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base, token = _started(process)
        loaded = httpx.get(base + "/workbench/document", headers={"X-API-Key": token}, trust_env=False).json()
        assert any("表三!D5" in p["message"] for p in loaded["problems"]), loaded["problems"]
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert "表三!D5" in err and "Traceback" not in err, err
    assert path.read_bytes() == before  # opening writes nothing


def _zip_of_text() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "不是工作簿")
    return out.getvalue()


def test_edit_refuses_a_broken_workbook(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from docxreport.xlsx.writer import write_workbook

    whole = write_workbook(json.loads(EXAMPLE_2024.read_text(encoding="utf-8")))
    other = tmp_path / "other.xlsx"
    book = Workbook()
    book.active["A1"] = "考勤"
    book.save(other)
    cases = {"truncated.xlsx": (whole[: len(whole) // 2], "不是有效的 Excel 工作簿"),
             "other.xlsx": (other.read_bytes(), "不是年度报告工作簿"),
             "archive.xlsx": (_zip_of_text(), "不是有效的 Excel 工作簿（zip 压缩包")}
    for name, (content, words) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = _docxreport("edit", str(path), "--no-browser")
        assert result.returncode == 2 and words in result.stderr and name in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert path.read_bytes() == content
        assert not (tmp_path / (name + ".bak")).exists()


def test_serve_help_names_the_page() -> None:
    result = _docxreport("serve", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "填报页面" in text and "/ 提供填报页面" in text
    assert "DOCXREPORT_API_KEY 后， 页面第一次使用时询问一次密钥" in text or "询问一次密钥" in text


# --------------------------------------------------------------------------- packaging


def test_the_package_build_ships_the_page(tmp_path: Path) -> None:
    """``pip install .`` (not editable) installs what setuptools' build_py collects (package_data): the
    scripts, style and template of the page must be among it."""
    result = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py", "--build-lib", str(tmp_path)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    built = {p.relative_to(tmp_path).as_posix() for p in (tmp_path / "docxreport" / "web").rglob("*") if p.is_file()}
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docxreport" / "web").glob("*/*") if p.suffix in (".js", ".css", ".html")}
    assert len(shipped) >= 4 and shipped <= built, shipped - built
