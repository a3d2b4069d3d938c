"""The filing workbench in a real browser: Playwright driving Debian's Chromium against a live server.

One server and one browser for the module; each test gets a fresh page (its own storage). Every request the
page makes is recorded (none may leave the origin) and so is every console error (there must be none).
Skipped when Chromium or Playwright is not installed locally; CI installs both and fails without them.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

for _module in ("fastapi", "uvicorn", "httpx", "python_multipart", "playwright"):
    try:
        importlib.import_module(_module)
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"needed for the browser tests: {_module}", allow_module_level=True)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must install chromium for the workbench tests")
    pytest.skip("chromium is not installed", allow_module_level=True)

import uvicorn  # noqa: E402
from playwright.sync_api import Browser, Error, Page, expect, sync_playwright  # noqa: E402

import docxreport  # noqa: E402
from docxreport.web.server import create_app  # noqa: E402
from docxreport.web.service import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_2024 = ROOT / "examples" / "county-bureau-2024.json"
EXAMPLE_2023 = ROOT / "examples" / "county-bureau-2023.json"
HOSTILE = "<img src=x onerror=alert(1)>"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
expect.set_options(timeout=10_000)


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(create_app(Settings())) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watched:
    """A page with what it asked for and what it complained about."""

    def __init__(self, page: Page, origin: str) -> None:
        self.page, self.origin = page, origin
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}:{dialog.message}")
        dialog.accept()

    def check_clean(self) -> None:
        foreign = [u for u in self.requests if not u.startswith((self.origin + "/", "blob:", "data:"))]
        assert not foreign, f"requests left the origin: {foreign}"
        assert not self.errors, f"console errors: {self.errors}"
        assert not [d for d in self.dialogs if d.startswith("alert")], self.dialogs


@pytest.fixture
def watched(browser: Browser, server: LiveServer) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    w = Watched(page, server.url)
    page.goto(server.url + "/")
    checked(page)
    yield w
    w.check_clean()
    context.close()

#: The summary when the report has no error: a new skeleton still has its placeholders, which are warnings.
NO_ERRORS = re.compile(r"^(没有发现问题|0 处错误，\d+ 处警告)$")


def checked(page: Page) -> None:
    """Wait until the page has shown the result of a check."""
    expect(page.locator("#problem-summary")).not_to_have_text("尚未检查")


def settle(page: Page) -> None:
    """Wait for the debounced check after the last change to come back (the page marks it on the body)."""
    page.wait_for_function("() => document.body.dataset.checking === 'idle'")


def draft(page: Page) -> Any:
    """The report as the page last stored it in the browser (after the debounced save)."""
    page.wait_for_function("() => document.body.dataset.saving === 'idle'")
    return page.evaluate("() => JSON.parse(localStorage.getItem('docxreport.workbench.draft')).report")


def cell(page: Page, name: str) -> Any:
    return page.get_by_role("textbox", name=name, exact=True)


def open_json(page: Page, data: Any, tmp_path: Path, name: str = "report.json") -> None:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page.set_input_files("#open-file", str(path))
    expect(page.locator("#status")).to_contain_text(f"已打开 {name}")
    settle(page)


# --------------------------------------------------------------------------- scenarios


def test_type_a_small_report_by_keyboard_from_a_new_skeleton(watched: Watched) -> None:
    page = watched.page
    page.get_by_role("button", name="新建").click()
    expect(page.get_by_label("机关名称")).to_be_focused()
    page.keyboard.type("某某镇人民政府")
    page.keyboard.press("Tab")
    expect(page.get_by_label("年度", exact=True)).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("2024")
    # three requests from natural persons, all disclosed: type, then move down with the arrow keys
    cell(page, "本年新收政府信息公开申请数量 自然人").focus()
    page.keyboard.type("3")
    page.keyboard.press("ArrowDown")
    expect(cell(page, "上年结转政府信息公开申请数量 自然人")).to_be_focused()
    page.keyboard.press("Enter")
    expect(cell(page, "本年度办理结果 予以公开 自然人")).to_be_focused()
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    expect(cell(page, "本年度办理结果 予以公开 商业企业")).to_be_focused()
    settle(page)
    expect(page.locator("#problem-summary")).to_have_text(NO_ERRORS)
    # totals are computed and shown, not stated
    assert cell(page, "本年新收政府信息公开申请数量 总计").get_attribute("placeholder") == "3"
    assert cell(page, "本年度办理结果 总计 自然人").get_attribute("placeholder") == "3"
    assert cell(page, "本年度办理结果 总计 总计").get_attribute("placeholder") == "3"
    report = draft(page)
    assert report["organ"] == "某某镇人民政府" and report["year"] == 2024
    assert report["requests"]["received"]["natural"] == 3 and "total" not in report["requests"]["received"]
    found = docxreport.validate(report)  # valid: only the skeleton's placeholder paragraphs are pointed out
    assert {p.rule for p in found} <= {"narrative.placeholder"} and all(p.severity == "warning" for p in found)


def test_paste_a_block_of_numbers_fills_right_and_down(watched: Watched) -> None:
    page = watched.page
    start = cell(page, "本年新收政府信息公开申请数量 自然人")
    start.focus()
    page.evaluate("""() => {
        const data = new DataTransfer();
        data.setData('text/plain', '1\\t2\\t3\\r\\n4\\t5\\t6\\r\\n');
        document.activeElement.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    }""")
    expected = {"本年新收政府信息公开申请数量": ["1", "2", "3"], "上年结转政府信息公开申请数量": ["4", "5", "6"]}
    for row, values in expected.items():
        for column, value in zip(("自然人", "商业企业", "科研机构"), values):
            expect(cell(page, f"{row} {column}")).to_have_value(value)
    expect(cell(page, "本年新收政府信息公开申请数量 社会公益组织")).to_have_value("0")
    assert cell(page, "本年新收政府信息公开申请数量 总计").get_attribute("placeholder") == "6"
    assert cell(page, "上年结转政府信息公开申请数量 总计").get_attribute("placeholder") == "15"
    expect(page.locator("#status")).to_have_text("已粘贴 6 个单元格")


def test_a_broken_total_is_marked_at_its_cell_then_fixed(watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    open_json(page, json.loads(EXAMPLE_2024.read_text(encoding="utf-8")), tmp_path)
    expect(page.locator("#problem-summary")).to_have_text(NO_ERRORS)
    total = cell(page, "本年新收政府信息公开申请数量 总计")
    total.fill("49")
    settle(page)
    expect(total).to_have_attribute("aria-invalid", "true")
    described = total.get_attribute("aria-describedby")
    messages = " ".join(page.locator(f"#{i}").text_content() for i in described.split())
    assert "总计应为各申请人类别之和 38+6+1+0+3+2=50，实际填写为 49" in messages
    assert page.get_attribute("#cell-requests-received-natural", "aria-invalid") is None
    # the list names the cell; clicking the problem focuses it
    item = page.locator("#problem-list li", has_text="实际填写为 49")
    expect(item).to_contain_text("本年新收政府信息公开申请数量 总计")
    expect(item).to_contain_text("requests.received.total")
    page.get_by_label("机关名称").focus()
    item.get_by_role("button").click()
    expect(total).to_be_focused()
    # Word and PDF are refused while there are errors, and the page says why
    expect(page.get_by_role("button", name="下载 Word")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#download-why")).to_contain_text("处错误")
    total.fill("50")
    settle(page)
    expect(total).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#problem-summary")).to_have_text(NO_ERRORS)
    expect(page.get_by_role("button", name="下载 Word")).to_have_attribute("aria-disabled", "false")


def test_start_from_last_years_docx(watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    last = json.loads(EXAMPLE_2023.read_text(encoding="utf-8"))
    docx = tmp_path / "2023.docx"
    docxreport.render(last, str(docx))
    page.set_input_files("#open-previous", str(docx))
    expect(page.locator("#status")).to_contain_text("已从上年报告 2023.docx 开始")
    settle(page)
    forward = last["requests"]["carried_forward"]
    for key, column in (("natural", "自然人"), ("business", "商业企业"), ("other_org", "其他")):
        expect(cell(page, f"上年结转政府信息公开申请数量 {column}")).to_have_value(str(forward[key]))
    expect(page.get_by_label("年度", exact=True)).to_have_value("2024")
    expect(page.get_by_label("机关名称")).to_have_value(last["organ"])
    expect(page.locator("#previous-note")).to_be_visible()
    first_text = page.locator("ol.blocks[data-section=overview] textarea").first
    expect(first_text).to_have_value(last["overview"][0]["text"])
    # last year's report is kept for the cross-year rule: a wrong carry-over is found
    wrong = cell(page, "上年结转政府信息公开申请数量 自然人")
    wrong.fill(str(forward["natural"] + 1))
    settle(page)
    expect(page.locator("#problem-list")).to_contain_text("上年报告")
    expect(wrong).to_have_attribute("aria-invalid", "true")


def test_download_word_and_read_it_back(watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    open_json(page, data, tmp_path)
    expect(page.locator("#problem-summary")).to_have_text(NO_ERRORS)
    cell(page, "行政复议 结果维持").fill("3")
    cell(page, "行政复议 总计").fill("")
    settle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="下载 Word").click()
    download = info.value
    assert download.suggested_filename == "某某县自然资源局2024年政府信息公开工作年度报告.docx"
    path = tmp_path / "out.docx"
    download.save_as(path)
    back, problems = docxreport.extract(str(path))
    assert not [p for p in problems if p.severity == "error"]
    assert back["organ"] == data["organ"]
    assert back["appeals"]["review"]["upheld"] == 3
    assert back["requests"]["received"]["natural"] == data["requests"]["received"]["natural"]
    # 保存数据 gives the JSON as it is
    with page.expect_download() as info:
        page.get_by_role("button", name="保存数据").click()
    saved = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert saved["appeals"]["review"]["upheld"] == 3 and "total" not in saved["appeals"]["review"]


def _plain(data: Any) -> Any:
    """Report data as JSON has it (the workbook reader gives fees as Decimal)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=float))


def test_save_as_a_workbook_downloads_one_that_reads_back_to_the_same_data(watched: Watched, tmp_path: Path) -> None:
    from docxreport.format import load_format
    from docxreport.report.rules import complete
    from docxreport.xlsx.reader import read_workbook

    page = watched.page
    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    open_json(page, data, tmp_path)
    cell(page, "本年新收政府信息公开申请数量 自然人").fill("40")  # its total no longer adds up: an error …
    settle(page)
    expect(page.get_by_role("button", name="下载 Word")).to_have_attribute("aria-disabled", "true")
    with page.expect_download() as info:  # … and the data can still be saved, as a workbook too
        page.get_by_role("button", name="保存为 Excel 工作簿").click()
    download = info.value
    assert download.suggested_filename == "某某县自然资源局2024年政府信息公开工作年度报告.xlsx"
    path = tmp_path / "saved.xlsx"
    download.save_as(path)
    expect(page.locator("#status")).to_contain_text("已保存为 Excel 工作簿")
    expect(page.locator("#status")).to_contain_text("处错误")
    back, problems = read_workbook(path.read_bytes(), path.name)
    assert not [p for p in problems if p.severity == "error"], problems
    data["requests"]["received"]["natural"] = 40
    expected = complete({k: v for k, v in data.items() if k != "$schema"}, load_format())
    assert _plain(back) == _plain(expected)
    assert back["requests"]["received"]["total"] == data["requests"]["received"]["total"]  # kept as stated


def test_reload_offers_the_draft_back(watched: Watched) -> None:
    page = watched.page
    page.get_by_label("机关名称").fill("草稿机关")
    cell(page, "规章 本年制发件数").fill("7")
    page.wait_for_function("() => (localStorage.getItem('docxreport.workbench.draft') || '').includes('草稿机关')")
    page.reload()
    assert [d for d in watched.dialogs if d.startswith("beforeunload")], "leaving with unsaved changes must ask"
    dialog = page.get_by_role("dialog", name="恢复草稿？")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("草稿机关")
    dialog.get_by_role("button", name="恢复草稿").click()
    expect(page.get_by_label("机关名称")).to_have_value("草稿机关")
    expect(cell(page, "规章 本年制发件数")).to_have_value("7")


def test_hostile_text_stays_text(watched: Watched, tmp_path: Path) -> None:
    page = watched.page
    data = json.loads(EXAMPLE_2024.read_text(encoding="utf-8"))
    data["organ"] = HOSTILE
    data["overview"][0]["heading"] = "<script>alert(2)</script>"
    data["overview"].append(HOSTILE + "</textarea><b>x</b>")
    data["requests"]["received"]["natural"] = HOSTILE
    open_json(page, data, tmp_path)
    expect(page.get_by_label("机关名称")).to_have_value(HOSTILE)
    expect(cell(page, "本年新收政府信息公开申请数量 自然人")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#problem-list")).to_contain_text("requests.received.natural")
    assert page.locator("main img, #problems img, main b, main script").count() == 0
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    texts = page.locator("ol.blocks[data-section=overview] textarea")
    expect(texts.last).to_have_value(HOSTILE + "</textarea><b>x</b>")
    page.get_by_role("button", name="新建").click()  # confirm() is accepted by the watcher
    assert not [d for d in watched.dialogs if d.startswith("alert")]


def test_sections_are_edited_with_numbering_as_printed(watched: Watched) -> None:
    page = watched.page
    section = page.locator("#section-problems")
    items = section.locator("ol.blocks > li")
    expect(items).to_have_count(4)  # the skeleton: two headings, each with one paragraph
    numbers = section.locator(".number")
    expect(numbers.nth(0)).to_have_text("（一）")
    expect(numbers.nth(2)).to_have_text("（二）")
    section.get_by_role("button", name="添加段首标题", exact=True).click()
    heading = items.nth(4).locator(".heading-input")
    expect(heading).to_be_focused()
    page.keyboard.type("下一步打算")
    expect(numbers.nth(4)).to_have_text("（三）")
    section.get_by_role("button", name="第 5 项降一级", exact=True).click()
    expect(numbers.nth(4)).to_have_text("1.")  # now the first sub-item under 改进情况
    section.get_by_role("button", name="第 5 项上移", exact=True).click()
    expect(section.get_by_role("button", name="第 4 项上移", exact=True)).to_be_focused()
    expect(numbers.nth(3)).to_have_text("1.")  # still under 改进情况, above its paragraph
    section.get_by_role("button", name="第 4 项升一级", exact=True).click()
    expect(numbers.nth(3)).to_have_text("（三）")
    section.get_by_role("button", name="删除第 1 项", exact=True).click()
    expect(items).to_have_count(4)
    expect(numbers.nth(0)).to_have_text("")  # a paragraph now comes first
    expect(numbers.nth(1)).to_have_text("（一）")
    expect(numbers.nth(2)).to_have_text("（二）")
    settle(page)
    report = draft(page)
    assert isinstance(report["problems"][0], str)
    assert report["problems"][1] == {"heading": "改进情况", "body": []}
    assert report["problems"][2] == {"heading": "下一步打算", "text": ""}
    assert isinstance(report["problems"][3], str)
    # an empty run-in text is an error of the schema, shown at that paragraph; the list leads to it
    problem = page.locator("#problem-list li", has_text="problems[2].text")
    expect(problem).to_have_count(1)
    text = items.nth(2).locator("textarea")
    expect(text).to_have_attribute("aria-invalid", "true")
    problem.get_by_role("button").click()
    expect(text).to_be_focused()
    page.keyboard.type("完善制度。")
    settle(page)
    expect(page.locator("#problem-list li", has_text="problems[2]")).to_have_count(0)


def test_the_page_fits_1366_and_works_at_200_percent(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(viewport={"width": 683, "height": 384}, device_scale_factor=2)  # 1366×768 at 200 %
    page = context.new_page()
    w = Watched(page, server.url)
    page.goto(server.url + "/")
    checked(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 683 + 1, f"the page scrolls sideways at 200 %: {width}px"
    for name in ("下载 Word", "保存数据", "打开…"):
        page.get_by_role("button", name=name).focus()
        expect(page.get_by_role("button", name=name)).to_be_focused()
    w.check_clean()
    context.close()


def test_the_page_asks_for_the_api_key_once(browser: Browser) -> None:
    with LiveServer(create_app(Settings(api_key="密钥-123"))) as live:
        context = browser.new_context()
        page = context.new_page()
        w = Watched(page, live.url)
        page.goto(live.url + "/")
        dialog = page.get_by_role("dialog", name="需要 API 密钥")
        expect(dialog).to_be_visible()
        dialog.get_by_label("API 密钥").fill("密钥-123")
        dialog.get_by_role("button", name="确定").click()
        expect(page.locator("#problem-summary")).to_contain_text("处错误")  # the check ran with the key
        page.reload()
        checked(page)
        expect(page.get_by_role("dialog", name="需要 API 密钥")).to_be_hidden()
        w.errors = [e for e in w.errors if "401" not in e]  # the first check, before the key was given
        w.check_clean()
        context.close()


@contextlib.contextmanager
def editing(browser: Browser, *args: str, cwd: Path | None = None) -> Iterator[Watched]:
    """``docxreport edit ARGS --no-browser`` running, its page open at the address it printed (token and all)."""
    process = subprocess.Popen([sys.executable, "-m", "docxreport", "edit", *args, "--no-browser"], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        address = re.search(r"http://\S+", process.stdout.readline()).group(0)  # type: ignore[union-attr]
        context = browser.new_context()
        page = context.new_page()
        w = Watched(page, address.split("/#")[0])
        for _ in range(100):
            try:
                page.goto(address)
                break
            except Error:  # not listening yet
                time.sleep(0.1)
        yield w
        context.close()
    finally:
        process.terminate()
        process.wait(20)


def test_edit_writes_every_change_to_the_file(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    original = EXAMPLE_2024.read_bytes()
    path.write_bytes(original)
    with editing(browser, str(path)) as w:
        page = w.page
        expect(page.get_by_label("机关名称")).to_have_value("某某县自然资源局")
        assert "key=" not in page.url  # the token leaves the address bar once read
        page.get_by_label("机关名称").fill("某某县自然资源局（改）")
        started = time.monotonic()
        while json.loads(path.read_text(encoding="utf-8"))["organ"] != "某某县自然资源局（改）":
            assert time.monotonic() - started < 3, "the change did not reach the file"
            time.sleep(0.05)
        assert (tmp_path / "report.json.bak").read_bytes() == original
        expect(page.locator("#status")).to_contain_text("已保存到")
        w.check_clean()


def test_edit_without_a_file_asks_where_to_save(browser: Browser, tmp_path: Path) -> None:
    with editing(browser, cwd=tmp_path) as w:
        page = w.page
        expect(page.locator("#status")).to_contain_text("选择保存位置")
        page.get_by_label("机关名称").fill("新机关")
        dialog = page.get_by_role("dialog", name="保存到哪个文件？")
        expect(dialog).to_be_visible()
        field = dialog.get_by_label("文件路径")
        expect(field).to_have_value(str(tmp_path / "政府信息公开工作年度报告.json"))
        (tmp_path / "taken.json").write_text("{}", encoding="utf-8")
        field.fill(str(tmp_path / "taken.json"))
        dialog.get_by_role("button", name="保存").click()
        expect(dialog.get_by_role("alert")).to_contain_text("已存在")
        field.fill(str(tmp_path / "mine.json"))
        dialog.get_by_role("button", name="保存").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#status")).to_contain_text("已保存到")
        assert json.loads((tmp_path / "mine.json").read_text(encoding="utf-8"))["organ"] == "新机关"
        assert (tmp_path / "taken.json").read_text(encoding="utf-8") == "{}"
        w.errors = [e for e in w.errors if "409" not in e]  # the refused location, shown in the dialog
        w.check_clean()


def test_edit_writes_every_change_to_a_workbook(browser: Browser, tmp_path: Path) -> None:
    from docxreport.xlsx.reader import read_workbook
    from docxreport.xlsx.writer import write_workbook

    path = tmp_path / "report.xlsx"
    original = write_workbook(json.loads(EXAMPLE_2024.read_text(encoding="utf-8")))
    path.write_bytes(original)
    with editing(browser, str(path)) as w:
        page = w.page
        expect(page.get_by_label("机关名称")).to_have_value("某某县自然资源局")
        cell(page, "行政许可 本年处理决定数量").fill("99")
        started = time.monotonic()
        while read_workbook(path.read_bytes(), path.name)[0]["proactive"]["licensing"] != 99:
            assert time.monotonic() - started < 3, "the change did not reach the workbook"
            time.sleep(0.05)
        assert (tmp_path / "report.xlsx.bak").read_bytes() == original
        expect(page.locator("#status")).to_contain_text("已保存到")
        w.check_clean()
