"""Custom templates: values placed through docxtpl tags, the sandbox, and errors that say where."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

import docxreport
from docxreport import TemplateError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "county-bureau-2024.json"


@pytest.fixture()
def data() -> dict:
    return docxreport.load(EXAMPLE)


def make_template(tmp_path: Path, body: list[str], *, footer: str | None = None, header: str | None = None,
                  title: str | None = None, cell: str | None = None) -> Path:
    """A foreign template built with python-docx only (no docxtpl), as an office would make in Word."""
    doc = Document()
    for text in body:
        doc.add_paragraph(text)
    if cell is not None:
        doc.add_table(rows=1, cols=2).cell(0, 1).text = cell
    section = doc.sections[0]
    if footer is not None:
        section.footer.paragraphs[0].text = footer
    if header is not None:
        section.header.paragraphs[0].text = header
    if title is not None:
        doc.core_properties.title = title
    path = tmp_path / "office.docx"
    doc.save(path)
    return path


def texts(document: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(document)).paragraphs]


def test_custom_template_receives_values_and_computed_totals(tmp_path: Path, data: dict) -> None:
    del data["requests"]["received"]["total"]
    template = make_template(
        tmp_path,
        ["机关：{{ organ }}", "年度：{{ year }}，成文日期：{{ date_text }}", "新收申请合计：{{ requests.received.total }}", "{{p overview }}"],
        footer="{{ organ }} 第 页", cell="{{ proactive.fees }}",
    )
    out = docxreport.render(data, template=template)
    doc = Document(io.BytesIO(out))
    got = [p.text for p in doc.paragraphs]
    assert got[:3] == ["机关：某某县自然资源局", "年度：2024，成文日期：2025年1月20日", "新收申请合计：50"]
    assert got[3].startswith("（一）主动公开。")
    assert doc.tables[0].cell(0, 1).text == "12.3456"
    assert doc.sections[0].footer.paragraphs[0].text == "某某县自然资源局 第 页"


def test_user_text_is_literal_in_custom_templates(tmp_path: Path, data: dict) -> None:
    data["organ"] = "A&B <x> {{ year }} {_{ y }_}"
    template = make_template(tmp_path, ["{{ organ }}"], footer="{{ organ }}", title="{{ organ }}")
    out = docxreport.render(data, template=template)
    doc = Document(io.BytesIO(out))
    assert doc.paragraphs[0].text == "A&B <x> {{ year }} {_{ y }_}"
    assert doc.sections[0].footer.paragraphs[0].text == "A&B <x> {{ year }} {_{ y }_}"
    assert doc.core_properties.title == "A&B <x> {{ year }} {_{ y }_}"


@pytest.mark.parametrize("where", ["body", "footer", "header", "title", "cell"])
@pytest.mark.parametrize("tag", ["{{ ''.__class__.__mro__ }}", "{{ organ.__class__.__init__.__globals__ }}",
                                 "{{ cycler.__init__.__globals__.os }}", "{{ organ.upper.__self__.__class__ }}"])
def test_sandbox_refuses_reaching_python_internals(tmp_path: Path, data: dict, where: str, tag: str) -> None:
    kwargs = {where: tag} if where != "body" else {}
    template = make_template(tmp_path, [tag] if where == "body" else ["正文"], **kwargs)
    out = tmp_path / "out.docx"
    with pytest.raises(TemplateError) as info:
        docxreport.render(data, out, template=template)
    assert "office.docx" in str(info.value)
    assert not out.exists()


def test_unknown_variable_is_named_with_its_place_before_anything_is_written(tmp_path: Path, data: dict) -> None:
    template = make_template(tmp_path, ["第一段", "机关：{{ organ_name }}"])
    out = tmp_path / "out.docx"
    with pytest.raises(TemplateError) as info:
        docxreport.render(data, out, template=template)
    message = str(info.value)
    assert "organ_name" in message and "word/document.xml" in message and "第 2 段" in message
    assert not out.exists()


def test_unknown_attribute_is_named(tmp_path: Path, data: dict) -> None:
    template = make_template(tmp_path, ["{{ requests.recieved.total }}"])
    with pytest.raises(TemplateError, match="recieved"):
        docxreport.render(data, template=template)


def test_unknown_variable_in_footer_is_located(tmp_path: Path, data: dict) -> None:
    template = make_template(tmp_path, ["正文"], footer="{{ page_count }}")
    with pytest.raises(TemplateError) as info:
        docxreport.render(data, template=template)
    assert "page_count" in str(info.value) and "footer" in str(info.value)


def test_template_syntax_error_is_reported(tmp_path: Path, data: dict) -> None:
    template = make_template(tmp_path, ["{{ organ "])
    with pytest.raises(TemplateError, match="语法错误"):
        docxreport.render(data, template=template)


@pytest.mark.parametrize(("content", "message"), [(b"not a zip at all", "不是有效的 .docx"), (b"", "不是有效的 .docx")])
def test_not_a_docx_is_refused(tmp_path: Path, data: dict, content: bytes, message: str) -> None:
    path = tmp_path / "bad.docx"
    path.write_bytes(content)
    with pytest.raises(TemplateError, match=message):
        docxreport.render(data, template=path)


def test_zip_without_document_part_is_refused(tmp_path: Path, data: dict) -> None:
    import zipfile

    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(TemplateError, match="word/document.xml"):
        docxreport.render(data, template=path)


def test_missing_template_is_a_file_error(tmp_path: Path, data: dict) -> None:
    with pytest.raises(docxreport.ReportFileError, match="模板文件不存在"):
        docxreport.render(data, template=tmp_path / "nope.docx")


def test_narrative_uses_the_template_s_own_heading_styles(tmp_path: Path, data: dict) -> None:
    """An office template keeps its styling: headings go into its own 标题 styles (ids as Chinese Word
    writes them), and styles it lacks are added once, based on its own default paragraph style."""
    template = make_template(tmp_path, ["{{p overview }}", "{{p signature }}"])
    import zipfile

    with zipfile.ZipFile(template) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    styles = parts["word/styles.xml"].decode()
    styles = styles.replace('w:styleId="Heading2"', 'w:styleId="2"').replace('w:styleId="Normal"', 'w:styleId="a"')
    styles = styles.replace('<w:basedOn w:val="Normal"/>', '<w:basedOn w:val="a"/>').replace('<w:next w:val="Normal"/>', '<w:next w:val="a"/>')
    parts["word/styles.xml"] = styles.encode()
    chinese = tmp_path / "chinese.docx"
    with zipfile.ZipFile(chinese, "w") as archive:
        for name, blob in parts.items():
            archive.writestr(name, blob)
    doc = Document(io.BytesIO(docxreport.render(data, template=chinese)))
    first = doc.paragraphs[0]
    assert first.text.startswith("（一）主动公开。") and first.style.style_id == "2"
    assert first.runs[1].style.name == "Run-in Body"  # added: the template had no such style
    assert doc.styles["Run-in Body"].element.get(qn("w:styleId")) == "RunInBody"
    signature = [p for p in doc.paragraphs if p.text == "某某县自然资源局"][0]
    assert signature.style.name == "Signature"
    assert signature.style.element.find(qn("w:basedOn")).get(qn("w:val")) == "a"
