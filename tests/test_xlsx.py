"""Excel workbooks: written from the format grid, read back by labels, the identity for every report.

JSON → .xlsx → JSON gives the data back (totals filled in, as every reader gives them) for every example and
generated reports, narrative included; a workbook re-saved by LibreOffice Calc reads the same; the written
workbook's merges, protection, formulas and validations are the format's; errors name the sheet and cell.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from openpyxl.utils import get_column_letter
from test_extract_roundtrip import reports

import docxreport
from docxreport.convert import convert
from docxreport.format import load_format
from docxreport.report import rules
from docxreport.sources import read_data
from docxreport.tables import TABLE_NAMES
from docxreport.xlsx.layout import GRID_TOP, TEXT_COLUMNS
from docxreport.xlsx.reader import read_workbook
from docxreport.xlsx.writer import write_workbook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
FMT = load_format()


def expected(data: dict[str, Any]) -> dict[str, Any]:
    """What reading a workbook of ``data`` gives: the data with its totals filled in, ``format`` set, the
    editor-only ``$schema`` dropped and a one-line title as a list of lines."""
    out = rules.complete(data, FMT)
    out.pop("$schema", None)
    out["format"] = FMT.id
    if isinstance(out.get("title"), str):
        out["title"] = [out["title"]]
    return out


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", *args], capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_round_trip_through_convert(path: Path, tmp_path: Path) -> None:
    workbook, back = tmp_path / "r.xlsx", tmp_path / "r.json"
    first = run("convert", str(path), "-o", str(workbook))
    assert first.returncode == 0, first.stderr
    second = run("convert", str(workbook), "-o", str(back))
    assert second.returncode == 0, second.stderr
    assert second.stderr.strip() == f"已生成 {back}"
    data = docxreport.load(path)
    assert docxreport.load(back) == expected(data)
    assert docxreport.validate(docxreport.load(back)) == []


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(reports())
def test_generated_reports_round_trip(data: dict) -> None:
    got, problems = read_workbook(write_workbook(data))
    assert problems == []
    assert got == expected(data)


TRICKY = [
    "  leading spaces", "trailing spaces  ", "two\nlines", "tab\there", "=SUM(A1:A3)", "'quoted", "0123", "2024",
    "TRUE", "2024-01-18", "😀 𠀀 \u200b é", "A&B <tag> ]]>", "{{ organ }}", "12.50",
]


def tricky_report() -> dict[str, Any]:
    """Text that spreadsheets like to reinterpret: formulas, numbers, dates, booleans, spaces, line breaks."""
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    data["title"] = ["=1+1", "2024"]
    data["preamble"] = TRICKY[:5]
    data["overview"] = [{"heading": h, "text": t} for h, t in zip(TRICKY[5:10], TRICKY[9:14])]
    data["problems"] = [{"heading": "1984", "body": [{"heading": "=A1", "body": [{"heading": "0", "body": ["x", "TRUE"]}, "y"]}, "z"]}, "after"]
    data["proactive"]["fees"] = Decimal("5949.088667")
    return data


def test_text_that_looks_like_numbers_or_formulas_stays_text() -> None:
    data = tricky_report()
    assert docxreport.validate(data) == []
    got, problems = read_workbook(write_workbook(data))
    assert problems == []
    assert got == expected(data)


def _calc_resave(paths: list[Path], tmp_path: Path) -> list[Path]:
    if shutil.which("soffice") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install LibreOffice Calc")
        pytest.skip("soffice not installed")
    out = tmp_path / "calc"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *map(str, paths)], check=True, capture_output=True, timeout=300)
    return [out / p.name for p in paths]


@pytest.mark.libreoffice
def test_a_workbook_resaved_by_calc_reads_the_same(tmp_path: Path) -> None:
    reports_ = {p.stem: docxreport.load(p) for p in EXAMPLES} | {"tricky": tricky_report()}
    paths = []
    for name, data in reports_.items():
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(write_workbook(data))
        paths.append(path)
    for name, resaved in zip(reports_, _calc_resave(paths, tmp_path)):
        assert resaved.read_bytes() != (tmp_path / f"{name}.xlsx").read_bytes()
        wb = openpyxl.load_workbook(resaved)
        assert wb["表三"]["J5"].value.startswith("=SUM(")  # Calc kept the formulas (and cached their results)
        cached = openpyxl.load_workbook(resaved, data_only=True)
        assert cached["表三"]["J5"].value == expected(reports_[name])["requests"]["received"]["total"]
        got, problems = read_workbook(resaved)
        assert problems == [], name
        assert got == expected(reports_[name]), name


# --------------------------------------------------------------------------- the written workbook


@pytest.fixture(scope="module")
def workbook() -> openpyxl.Workbook:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    return openpyxl.load_workbook(io.BytesIO(write_workbook(data)))


def _ref(cell: Any) -> str:
    return f"{get_column_letter(cell.col + 1)}{GRID_TOP + cell.row}"


def _validation(ws: Any, ref: str) -> Any:
    found = [dv for dv in ws.data_validations.dataValidation if ref in dv.sqref]
    assert len(found) == 1, ref
    return found[0]


def test_sheets_are_the_report_parts(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == ["基本信息", "表二", "表三", "表四", "正文"]
    info = workbook["基本信息"]
    assert [info.cell(row=r, column=1).value for r in range(2, 8)] == ["机关名称", "报告年度", "成文日期", "标题第1行", "标题第2行", "标题第3行"]
    assert info["B2"].value == "某某县自然资源局" and info["B3"].value == 2024
    assert info["B4"].value.date().isoformat() == "2025-01-20"
    assert info.protection.sheet and not info["B2"].protection.locked and info["A2"].protection.locked
    text = workbook["正文"]
    assert [c.value for c in text[1]] == list(TEXT_COLUMNS)


@pytest.mark.parametrize("table_id", list(TABLE_NAMES))
def test_table_sheets_are_the_format_grid(workbook: openpyxl.Workbook, table_id: str) -> None:
    table = FMT.tables[table_id]
    ws = workbook[TABLE_NAMES[table_id]]
    last = get_column_letter(table.grid_columns)
    spans = {f"{_ref(c)}:{get_column_letter(c.right)}{GRID_TOP + c.bottom - 1}" for c in table.cells if c.rowspan > 1 or c.colspan > 1}
    assert {str(r) for r in ws.merged_cells.ranges} == spans | {f"A1:{last}1"}
    section = next(s for s in FMT.sections if s.content == table_id)
    assert ws["A1"].value == section.heading
    # relative widths as the Word table's
    widths = [ws.column_dimensions[get_column_letter(i + 1)].width for i in range(table.grid_columns)]
    for (w1, t1), (w2, t2) in zip(zip(widths, table.column_widths), zip(widths[1:], table.column_widths[1:])):
        assert abs(w1 / w2 - t1 / t2) < 0.02
    assert ws.protection.sheet and not ws.protection.password
    assert ws.print_area == f"'{ws.title}'!$A$1:${last}${GRID_TOP + table.grid_rows - 1}" or ws.print_area.endswith(f"$A$1:${last}${GRID_TOP + table.grid_rows - 1}")
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    totals = rules.sum_targets(FMT)
    limits = FMT.limits
    for cell in table.cells:
        target = ws[_ref(cell)]
        if not cell.is_data:
            assert target.value == (cell.text or None) and target.protection.locked, _ref(cell)
            continue
        if cell.key in totals:
            assert target.data_type == "f" and str(target.value).startswith("=SUM("), _ref(cell)
            assert target.protection.locked and target.fill.fgColor.rgb.endswith("E0E0E0") and target.font.b
            continue
        assert not target.protection.locked, _ref(cell)
        dv = _validation(ws, _ref(cell))
        assert dv.showInputMessage and dv.showErrorMessage and dv.allow_blank
        if str(cell.key).endswith("fees"):
            assert dv.type == "custom" and f"<={limits['fee_max']}" in dv.formula1 and f"ROUND({_ref(cell)},{limits['fee_decimals']})" in dv.formula1
        else:
            assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("whole", "between", "0", str(limits["count_max"]))
    names = FMT.names()
    # the input message names the row and the column
    if table_id == "table3":
        dv = _validation(ws, "E12")
        assert dv.prompt == "行：三、本年度办理结果 › （三）不予公开 › 4.保护第三方合法权益\n列：申请人情况 › 法人或其他组织 › 商业企业"
        assert names["requests.*.business"] == "商业企业"
    if table_id == "table4":
        assert _validation(ws, "K5").prompt == "列：行政诉讼 › 复议后起诉 › 结果维持"
    if table_id == "table2":
        assert _validation(ws, "B15").prompt == "行：行政事业性收费\n列：第二十条第（八）项 › 本年收费金额（单位：万元）"


def test_totals_sum_their_terms(workbook: openpyxl.Workbook) -> None:
    ws = workbook["表三"]
    assert ws["J5"].value == "=SUM(D5:I5)"  # 一、本年新收: the row
    assert ws["D28"].value == "=SUM(D7:D27)"  # （七）总计: the 21 outcome rows of the column
    assert ws["J28"].value == "=SUM(D28:I28)" and ws["A28"].value is None and ws["B28"].value == "（七）总计"
    t4 = workbook["表四"]
    assert t4["E5"].value == "=SUM(A5:D5)" and t4["O5"].value == "=SUM(K5:N5)"


def test_a_stated_total_that_does_not_add_up_is_kept_as_typed() -> None:
    data = docxreport.load(ROOT / "examples" / "county-bureau-2024.json")
    data["appeals"]["review"]["total"] += 1
    ws = openpyxl.load_workbook(io.BytesIO(write_workbook(data)))["表四"]
    assert ws["E5"].value == data["appeals"]["review"]["total"] and ws["E5"].data_type == "n"
    got, problems = read_workbook(write_workbook(data))
    assert problems == [] and got["appeals"]["review"]["total"] == data["appeals"]["review"]["total"]
    assert [p.path for p in docxreport.validate(got)] == [("appeals", "review", "total")]


# --------------------------------------------------------------------------- reading what clerks do


def _edited(data: dict[str, Any], edit: Any) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(write_workbook(data)))
    edit(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def data() -> dict[str, Any]:
    return docxreport.load(ROOT / "examples" / "county-bureau-2024.json")


def test_errors_name_the_sheet_and_cell(data: dict[str, Any]) -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        wb["表三"]["E12"] = "十二"
        wb["表二"]["C5"] = "许多"
        wb["表四"]["B5"] = 1.5

    _, problems = read_workbook(_edited(data, edit))
    errors = {p.details["cell"]: p for p in problems if p.severity == "error"}
    assert set(errors) == {"表三!E12", "表二!C5", "表四!B5"}
    assert errors["表三!E12"].message == "表三!E12“十二”不是数字"
    assert errors["表三!E12"].path == ("requests", "outcomes", "withheld", "third_party", "business")
    assert errors["表二!C5"].path == ("proactive", "normative_documents", "repealed")
    assert errors["表四!B5"].message == "表四!B5“1.5”不是整数件数"


def test_blank_and_zero_are_kept_apart(data: dict[str, Any]) -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        wb["表三"]["F5"] = None  # was 1 in the example? whatever it was, now blank
        wb["表三"]["G5"] = 0

    got, problems = read_workbook(_edited(data, edit))
    assert [(p.rule, p.details["cell"]) for p in problems] == [("extract.blank_cell", "表三!F5")]
    assert problems[0].severity == "warning"
    assert got["requests"]["received"]["research"] == 0 and got["requests"]["received"]["nonprofit"] == 0


def test_formulas_are_not_trusted(data: dict[str, Any]) -> None:
    """A formula total is computed from the data cells whatever its cached result; a typed-over total is
    compared like any stated total; a formula where a number belongs is an error."""
    received = data["requests"]["received"]

    def edit(wb: openpyxl.Workbook) -> None:
        wb["表三"]["J5"] = "=SUM(D5:E5)"  # a total summing the wrong cells: ignored
        wb["表三"]["J6"] = 999  # typed over
        wb["表三"]["D7"] = "=2+3"  # a formula in a data cell

    got, problems = read_workbook(_edited(data, edit))
    assert got["requests"]["received"]["total"] == sum(v for k, v in received.items() if k != "total")
    assert got["requests"]["carried_over"]["total"] == 999
    assert [(p.rule, p.details["cell"], p.severity) for p in problems] == [("extract.formula", "表三!D7", "error")]
    assert "表三!D7: 含有公式" in problems[0].message
    assert ("requests", "carried_over", "total") in [p.path for p in docxreport.validate(got)]


def _own_workbook(data: dict[str, Any], offset: tuple[int, int], blank_row_after: int) -> bytes:
    """An office's own workbook in the national layout: other sheet names, the tables elsewhere on the
    sheet, a blank row inserted, totals typed, no 基本信息 and 正文 layout of ours beyond the labels."""
    full = rules.complete(data, FMT)
    wb = openpyxl.Workbook()
    wb.active.title = "单位信息"
    wb.active.append(["报告单位"])
    wb.active.append(["机关名称", data["organ"]])
    wb.active.append(["报告年度", str(data["year"])])
    wb.active.append(["成文日期", "2025年1月20日"])
    for table_id in TABLE_NAMES:
        ws = wb.create_sheet(f"Sheet{table_id[-1]}")
        table = FMT.tables[table_id]
        for cell in table.cells:
            row = offset[0] + cell.row + (1 if cell.row > blank_row_after else 0)
            col = offset[1] + cell.col
            value = cell.text if not cell.is_data else rules.get_path(full, str(cell.key))
            ws.cell(row=row, column=col, value=float(value) if isinstance(value, Decimal) else value)
            if cell.rowspan > 1 or cell.colspan > 1:
                bottom = row + cell.rowspan - 1 + (1 if cell.row <= blank_row_after < cell.bottom - 1 else 0)
                ws.merge_cells(start_row=row, start_column=col, end_row=bottom, end_column=col + cell.colspan - 1)
    text = wb.create_sheet("文字")
    text.append(list(TEXT_COLUMNS))
    text.append(["一、总体情况", 1, "主动公开", "本年度主动公开信息287条。"])
    text.append([None, 1, None, "其他情况。"])
    text.append(["五、存在的主要问题及改进情况", 1, "存在问题", None])
    text.append([None, 2, None, "人员不足。"])
    text.append(["六、其他需要报告的事项", 1, None, "无。"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_offices_own_workbook_in_the_national_layout_reads(data: dict[str, Any]) -> None:
    got, problems = read_workbook(_own_workbook(data, (4, 2), 8))
    assert [p for p in problems if p.severity == "error"] == []
    assert problems == []
    want = expected(data)
    for key in ("proactive", "requests", "appeals", "organ", "year"):
        assert got[key] == want[key], key
    assert got["date"] == "2025-01-20"
    assert got["overview"] == [{"heading": "主动公开", "text": "本年度主动公开信息287条。"}, "其他情况。"]
    assert got["problems"] == [{"heading": "存在问题", "body": ["人员不足。"]}]
    assert got["other"] == ["无。"]


def test_narrative_level_errors_name_the_cell(data: dict[str, Any]) -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb["正文"]
        ws["B3"] = 3  # deeper than anything open
        ws["A4"] = "七、附录"

    _, problems = read_workbook(_edited(data, edit))
    messages = [p.message for p in problems]
    assert any(m.startswith("正文!B3: 层级 3 不连续") for m in messages), messages
    assert any(m.startswith("正文!A4: “七、附录”不是报告的章节") for m in messages), messages


def test_a_renamed_sheet_reads_the_same(data: dict[str, Any]) -> None:
    def edit(wb: openpyxl.Workbook) -> None:
        wb["表三"].title = "申请情况"
        wb["正文"].title = "文字"

    got, problems = read_workbook(_edited(data, edit))
    assert problems == [] and got == expected(data)

    def bad(wb: openpyxl.Workbook) -> None:
        wb["表三"].title = "申请情况"
        wb["申请情况"]["E12"] = "x"

    _, problems = read_workbook(_edited(data, bad))
    assert [p.details["cell"] for p in problems] == ["申请情况!E12"]


# --------------------------------------------------------------------------- commands and files


def test_init_writes_a_workbook_skeleton(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    result = run("init", "--organ", "某某县自然资源局", "--year", "2024", "-o", str(out))
    assert result.returncode == 0, result.stderr
    from docxreport.report.skeleton import skeleton

    got, problems = read_workbook(out)
    assert problems == [] and got == expected(skeleton("某某县自然资源局", 2024))
    found = docxreport.validate(got)  # valid; only the skeleton's placeholders are pointed out
    assert found and {p.rule for p in found} == {"narrative.placeholder"} and all(p.severity == "warning" for p in found)


def test_read_data_takes_a_workbook_by_content(tmp_path: Path, data: dict[str, Any]) -> None:
    disguised = tmp_path / "report.json"  # a workbook under a JSON name: told by content
    disguised.write_bytes(write_workbook(data))
    got, problems = read_data(disguised, str(disguised))
    assert problems == [] and got == expected(data)


def test_convert_reads_a_finished_report_into_either(tmp_path: Path, data: dict[str, Any]) -> None:
    docx = tmp_path / "r.docx"
    docxreport.render(data, docx)
    as_json, as_xlsx = convert(docx, "json", "r.docx"), convert(docx, "xlsx", "r.docx")
    assert as_json.source_kind == as_xlsx.source_kind == "docx" and as_json.problems == as_xlsx.problems == []
    assert as_json.content is not None and as_xlsx.content is not None
    from docxreport.report.jsonfile import parse_json

    from_json, _ = parse_json(as_json.content)
    from_xlsx, problems = read_workbook(as_xlsx.content)
    assert problems == [] and from_xlsx == from_json


def test_convert_never_overwrites_its_input_and_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    source = tmp_path / "r.xlsx"
    source.write_bytes(write_workbook(docxreport.load(EXAMPLES[0])))
    before = source.read_bytes()
    same = run("convert", str(source), "-o", str(source))
    assert same.returncode == 2 and "拒绝覆盖" in same.stderr and source.read_bytes() == before
    suffix = run("convert", str(source), "-o", str(tmp_path / "r.txt"))
    assert suffix.returncode == 2 and "扩展名应为 .json 或 .xlsx" in suffix.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"organ": "某", "year": "二〇二四"}', encoding="utf-8")
    out = tmp_path / "bad.xlsx"
    refused = run("convert", str(bad), "-o", str(out))
    assert refused.returncode == 1 and "year" in refused.stderr and not out.exists()
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    unreadable = run("convert", str(broken), "-o", str(tmp_path / "x.xlsx"))
    assert unreadable.returncode == 2 and "无法读取" in unreadable.stderr and "Traceback" not in unreadable.stderr


def test_a_workbook_that_is_no_report_is_refused(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "电话"])
    path = tmp_path / "通讯录.xlsx"
    wb.save(path)
    result = run("convert", str(path), "-o", str(tmp_path / "x.json"))
    assert result.returncode == 2 and "不是年度报告工作簿" in result.stderr and "Traceback" not in result.stderr
    zipped = tmp_path / "fake.xlsx"
    import zipfile

    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-a-workbook")
    result = run("convert", str(zipped), "-o", str(tmp_path / "y.json"))
    assert result.returncode == 2 and "无法打开工作簿" in result.stderr and "Traceback" not in result.stderr


def test_an_oversized_sheet_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    import zipfile

    from docxreport.errors import NotAReportError
    from docxreport.xlsx.reader import MAX_SHEET_BYTES

    source = io.BytesIO(write_workbook(docxreport.load(EXAMPLES[0])))
    bomb = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "xl/worksheets/sheet3.xml":
                data = data.replace(b"</worksheet>", b"<!--" + b" " * (MAX_SHEET_BYTES + 1) + b"--></worksheet>")
            out.writestr(info.filename, data)
    with pytest.raises(NotAReportError, match="xl/worksheets/sheet3.xml 解压后过大"):
        read_workbook(bomb.getvalue(), "bomb.xlsx")


@pytest.mark.parametrize("value", [10**400, 2**53 + 1, -(10**20)], ids=["10**400", "2**53+1", "-10**20"])
def test_a_number_no_cell_holds_exactly_is_refused_not_changed(value: int) -> None:
    """A worksheet number is a double: 10**400 made openpyxl raise OverflowError (a 500 from the service) and
    2**53 + 1 would be written as 2**53, a different number. Both are refused, naming where."""
    from docxreport.web import jobs
    from docxreport.web.service import ApiError
    from docxreport.xlsx.writer import workbook_of

    data = json.loads(EXAMPLES[0].read_text("utf-8"))
    data["year"] = value
    workbook, problems = workbook_of(data)
    assert workbook is None
    assert [(p.json_path, p.rule) for p in problems] == [("year", "xlsx.unwritable")]
    assert "超出 Excel 单元格能准确保存的范围" in problems[0].message
    with pytest.raises(ApiError) as caught:
        jobs.render_xlsx_job(json.dumps(data).encode())
    assert caught.value.status == 422
    data["year"] = 2**53  # the largest that is exact
    assert workbook_of(data)[0] is not None
