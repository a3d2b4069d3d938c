"""The ``docxreport`` command: parse options, call the API, report.

Exit codes: 0 success (warnings allowed), 1 the report has problems, 2 a file could not be read or
written, or the command line is wrong.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from . import __version__
from .errors import DocxReportError, InvalidReportError, NotAReportError, ReportFileError
from .files import same_file, write_atomic
from .problems import Problem, has_errors

EXIT_PROBLEMS = 1
EXIT_UNREADABLE = 2

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    click.echo(f"docxreport: {message}", err=True)
    sys.exit(code)


def _source(path: str) -> Any:
    return sys.stdin.buffer if path == "-" else path


def _display(path: str) -> str:
    return "<标准输入>" if path == "-" else path


# --------------------------------------------------------------------------- reporters


def problem_line(name: str, p: Problem) -> str:
    """One problem for people: ``file: where: 错误：message [rule]``."""
    kind = "错误" if p.severity == "error" else "警告"
    return f"{name}: {p.location}: {kind}：{p.message} [{p.rule}]"


def report_text(name: str, problems: list[Problem]) -> str:
    """Problems for people, one a line, then a summary line."""
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
        "file": name,
        "valid": not has_errors(problems),
        "errors": sum(p.severity == "error" for p in problems),
        "warnings": sum(p.severity == "warning" for p in problems),
        "problems": [p.to_dict() for p in problems],
    }


def report_json(name: str, problems: list[Problem]) -> str:
    """Problems for programs (OA systems): one JSON object."""
    return json.dumps(report_dict(name, problems), ensure_ascii=False, indent=2)


REPORTERS = {"text": report_text, "json": report_json}


# --------------------------------------------------------------------------- commands


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="docxreport")
def main() -> None:
    """docxreport：把结构化 JSON 生成为符合 GB/T 9704 的政府信息公开工作年度报告（.docx）。

    \b
    常用流程：
      docxreport init --organ 某某县自然资源局 --year 2024 -o report.json
      docxreport validate report.json
      docxreport render report.json -o report.docx

    各子命令的说明和示例：docxreport 子命令 --help
    """
    # SIGTERM (an OA system's timeout, a service manager) unwinds like Ctrl-C, so nothing half-written stays.
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


@main.command(context_settings=CONTEXT)
@click.argument("file", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("--previous", "previous", type=click.Path(allow_dash=False), help="上年报告的 JSON，用于核对“上年结转”与上年“结转下年度继续办理”。")
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True, help="text 供人阅读；json 供 OA 系统解析。")
def validate(file: str, previous: str | None, output_format: str) -> None:
    """校验报告 JSON：数据格式和统计表的勾稽关系，一次列出全部问题。

    \b
    FILE 为报告 JSON 文件，- 表示从标准输入读取。
    退出码：0 通过（可有警告），1 发现问题，2 文件无法读取。

    \b
    示例：
      docxreport validate examples/zhuyangguan-2024.json
      docxreport validate report-2024.json --previous report-2023.json
      docxreport validate report.json --format json
    """
    from .validation import check_source

    try:
        _, problems = check_source(_source(file), previous)
    except ReportFileError as exc:
        if output_format == "json":  # OA systems parse stdout: give them an answer there too
            click.echo(json.dumps({"file": _display(file), "valid": False, "error": str(exc), "problems": []}, ensure_ascii=False, indent=2))
        _fail(str(exc))
    click.echo(REPORTERS[output_format](_display(file), problems))
    sys.exit(EXIT_PROBLEMS if has_errors(problems) else 0)


@main.command(context_settings=CONTEXT)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写入文件（默认输出到标准输出）。")
def schema(output: str | None) -> None:
    """输出报告内容的 JSON Schema（Draft 2020-12，含每个字段的中文标题和说明）。

    \b
    编辑器（如 VS Code）可用它在输入时提示和校验：在报告 JSON 中加入
    "$schema": "schema.json"。

    \b
    示例：
      docxreport schema -o schema.json
    """
    from .schema import load_schema, schema_json

    text = schema_json(load_schema())
    if output:
        try:
            write_atomic(output, text.encode("utf-8"))
        except ReportFileError as exc:
            _fail(str(exc))
    else:
        click.echo(text, nl=False)


@main.command(context_settings=CONTEXT)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；0.0.0.0 为所有网络接口（对外开放前请设置 DOCXREPORT_API_KEY）。")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="监听端口。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="工作进程数；每个进程各自限制并发数。")
def serve(host: str, port: int, workers: int) -> None:
    """以 HTTP 服务提供生成、校验和读取报告（供 OA 系统调用），需要安装 docxreport[server]。

    \b
    接口：POST /v1/render、/v1/validate、/v1/extract；GET /v1/schema、/healthz；
    接口说明（OpenAPI）：/openapi.json，浏览器中查看：/docs。
    其余设置用环境变量：DOCXREPORT_API_KEY（API 密钥）、DOCXREPORT_CORS_ORIGINS（允许跨域的来源，逗号分隔）、
    DOCXREPORT_MAX_BODY_BYTES、DOCXREPORT_MAX_CONCURRENCY、DOCXREPORT_MAX_QUEUE、
    DOCXREPORT_TIME_LIMIT、DOCXREPORT_PDF_TIME_LIMIT、DOCXREPORT_RETRY_AFTER。

    \b
    示例：
      docxreport serve
      DOCXREPORT_API_KEY=密钥 docxreport serve --host 0.0.0.0 --port 8080 --workers 4
    """
    from .service import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        _fail(str(exc))
    try:
        from . import server
    except ImportError as exc:
        _fail(f"HTTP 服务需要可选依赖（缺少 {exc.name or exc}）：请执行 pip install \"docxreport[server]\"")
    server.serve(settings, host, port, workers)


@main.command(context_settings=CONTEXT)
@click.option("--organ", required=True, help="机关名称，如 某某县自然资源局。")
@click.option("--year", required=True, type=click.IntRange(2008, 2100), help="报告年度，如 2024。")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写入文件（默认输出到标准输出）。")
@click.option("--force", is_flag=True, help="覆盖已存在的输出文件。")
def init(organ: str, year: int, output: str | None, force: bool) -> None:
    """生成一份完整的报告 JSON 骨架：统计表全部为 0，各部分带待填写的占位段落。

    骨架本身即可通过校验；按实际情况替换占位文字、填写数字后即可生成报告。

    \b
    示例：
      docxreport init --organ 某某县自然资源局 --year 2024 -o report-2024.json
    """
    from .schema import schema_problems
    from .skeleton import skeleton

    data = skeleton(organ, year)
    problems = schema_problems(data)
    if problems:  # the organ name given on the command line is checked like any other text
        click.echo(report_text("--organ", problems), err=True)
        sys.exit(EXIT_PROBLEMS)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if not output:
        click.echo(text, nl=False)
        return
    if Path(output).exists() and not force:
        _fail(f"{output}: 文件已存在（如需覆盖请加 --force）")
    try:
        write_atomic(output, text.encode("utf-8"))
    except ReportFileError as exc:
        _fail(str(exc))
    click.echo(f"已生成 {output}", err=True)


@main.command(context_settings=CONTEXT)
@click.argument("input_file", metavar="INPUT", type=click.Path(allow_dash=True))
@click.option("-o", "--output", type=click.Path(allow_dash=True), help="输出的 .docx（默认与输入同名、同目录；- 表示标准输出）。")
@click.option("--template", type=click.Path(dir_okay=False), help="使用本单位的 .docx 模板（docxtpl 标签），默认为内置国家格式模板。")
@click.option("--fonts", type=click.Choice(["official", "windows"]), default="official", show_default=True, help="official：仿宋_GB2312 等公文字体；windows：仿宋/楷体/黑体/宋体（未安装 GB2312 字体的电脑）。")
@click.option("--previous", type=click.Path(), help="上年报告的 JSON，渲染前一并核对跨年度规则。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 转为 PDF，写在 .docx 旁边（同名，扩展名 .pdf）。")
def render(input_file: str, output: str | None, template: str | None, fonts: str, previous: str | None, pdf: bool) -> None:
    """把报告 JSON 生成为 Word 文档（.docx）。先校验，有错误时不生成任何文件。

    \b
    INPUT 为报告 JSON，- 表示从标准输入读取（此时默认写到标准输出）。
    输出先写入临时文件再改名：失败时不会留下半个文件，也不会破坏已有文件；
    永远不会覆盖输入文件。

    \b
    示例：
      docxreport render examples/zhuyangguan-2024.json -o zhuyangguan-2024.docx
      docxreport render report.json --template 本单位模板.docx
      cat report.json | docxreport render - -o - > report.docx
      docxreport render report.json -o report.docx --pdf
    """
    from .renderer import render as render_docx
    from .validation import check_source

    if output is None:
        output = "-" if input_file == "-" else str(Path(input_file).with_suffix(".docx"))
    if output == "-" and sys.stdout.isatty():
        _fail("不会把 .docx 写到终端：请用 -o 指定输出文件")
    office = _office() if pdf else None
    if office and output == "-":
        _fail("--pdf 需要用 -o 指定输出文件，不能写到标准输出")
    for other, what in ((input_file, "输入文件"), (template, "模板文件"), (previous, "上年报告")):
        if other and other != "-" and output != "-" and same_file(output, other):
            _fail(f"{output}: 输出路径与{what}相同，拒绝覆盖")
    try:
        data, problems = check_source(_source(input_file), previous)
        if has_errors(problems):
            click.echo(report_text(_display(input_file), problems), err=True)
            sys.exit(EXIT_PROBLEMS)
        document = render_docx(data, template=template, fonts=fonts)
        if output == "-":
            sys.stdout.buffer.write(document)
            sys.stdout.buffer.flush()
        else:
            write_atomic(output, document)
    except InvalidReportError as exc:
        click.echo(report_text(_display(input_file), exc.problems), err=True)
        sys.exit(EXIT_PROBLEMS)
    except ReportFileError as exc:
        _fail(str(exc))
    except DocxReportError as exc:
        _fail(str(exc), EXIT_PROBLEMS)
    for p in problems:  # warnings only: errors stopped above
        click.echo(problem_line(_display(input_file), p), err=True)
    if output != "-":
        click.echo(f"已生成 {output}", err=True)
    if office:
        from .pdf import Office

        with Office(office) as converter:
            result = converter.convert([output])[Path(output)]
        if isinstance(result, str):
            _fail(f"{output}: {result}")
        click.echo(f"已生成 {result}", err=True)


def _office() -> str:
    """The LibreOffice executable for --pdf; exit 2 with the Chinese explanation when there is none."""
    from .pdf import OfficeNotFoundError, find_office

    try:
        return find_office()
    except OfficeNotFoundError as exc:
        _fail(str(exc))


def _data_json(data: Any) -> str:
    from .jsonfile import dumps

    return dumps(data)


@main.command(context_settings=CONTEXT)
@click.argument("report", type=click.Path(dir_okay=True, allow_dash=True))
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), help="写入 JSON 文件（默认输出到标准输出）。")
def extract(report: str, output: str | None) -> None:
    """把已成文的年度报告（.docx，不论由谁制作）读回为报告 JSON。

    \b
    表格按标签而不是位置识别；常见的格式变体（缺“其他”列、2019 年格式的（六）其他处理、
    “1、”式序号、标签错字、单元格内的说明、拆开的表格等）都能读取，并逐一给出警告。
    警告和错误输出到标准错误；退出码：0 读取完整，1 有内容无法读取，2 文件无法读取或不是年度报告。

    \b
    示例：
      docxreport extract 2023年报告.docx -o report-2023.json
      docxreport extract 下级单位报告.docx
    """
    from .extractor import extract as extract_docx

    if output and output != "-" and report != "-" and same_file(output, report):
        _fail(f"{output}: 输出路径与输入文件相同，拒绝覆盖")
    try:
        data, problems = extract_docx(_source(report))
        text = _data_json(data)
        if output and output != "-":
            write_atomic(output, text.encode("utf-8"))
        else:
            click.echo(text, nl=False)
    except (ReportFileError, NotAReportError) as exc:
        _fail(str(exc))
    for p in problems:
        click.echo(problem_line(_display(report), p), err=True)
    if output and output != "-":
        click.echo(f"已生成 {output}", err=True)
    sys.exit(EXIT_PROBLEMS if has_errors(problems) else 0)


@main.command(context_settings=CONTEXT)
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--previous", type=click.Path(), help="上年报告（.docx 或 .json），核对“上年结转”与上年“结转下年度继续办理”。")
@click.option("--format", "output_format", type=click.Choice(sorted(REPORTERS)), default="text", show_default=True, help="text 供人阅读；json 供 OA 系统解析。")
def check(reports: tuple[str, ...], previous: str | None, output_format: str) -> None:
    """审核已发布的年度报告（.docx）：读取后核对勾稽关系，并列出与国家格式不符之处。

    \b
    一个文件时列出全部问题；多个文件时每个文件输出一行汇总（适合县级部门审核下级单位的报告）。
    退出码：0 全部通过（可有警告），1 发现问题，2 有文件无法读取或不是年度报告。

    \b
    示例：
      docxreport check 某某镇2024年报告.docx
      docxreport check 2024年报告.docx --previous 2023年报告.docx
      docxreport check 下级单位/*.docx
      docxreport check 报告.docx --format json
    """
    from .audit import check_document

    results: list[dict[str, Any]] = []
    code = 0
    for report in reports:
        try:
            _, problems = check_document(report, previous)
        except (ReportFileError, NotAReportError) as exc:
            results.append({"file": report, "valid": False, "error": str(exc), "problems": []})
            code = EXIT_UNREADABLE
            if output_format == "text":
                click.echo(f"{report}: 无法审核：{exc}", err=len(reports) == 1)
            continue
        if has_errors(problems):
            code = max(code, EXIT_PROBLEMS)
        results.append(report_dict(report, problems))
        if output_format == "text":
            click.echo(report_text(report, problems).splitlines()[-1] if len(reports) > 1 else report_text(report, problems))
    if output_format == "json":
        click.echo(json.dumps(results[0] if len(reports) == 1 else results, ensure_ascii=False, indent=2))
    elif len(reports) > 1:
        failed = sum(1 for r in results if not r["valid"])
        click.echo(f"共审核 {len(reports)} 份报告：{len(reports) - failed} 份通过，{failed} 份有问题或无法读取")
    sys.exit(code)


@main.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="输出目录（不存在时创建）；其中的 manifest.json 记录每个输入的结果。")
@click.option("-j", "--jobs", "workers", type=click.IntRange(1, 256), default=None, help="并行的工作进程数（默认为 CPU 核数）。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 转为 PDF（每个工作进程成批转换）。")
@click.option("--force", is_flag=True, help="重新生成所有报告（默认跳过比输入和模板都新的已有输出）。")
@click.option("--template", type=click.Path(dir_okay=False, exists=True), help="使用本单位的 .docx 模板，默认为内置国家格式模板。")
@click.option("--fonts", type=click.Choice(["official", "windows"]), default="official", show_default=True, help="字体方案，同 render。")
def batch(inputs: tuple[str, ...], outdir: str, workers: int | None, pdf: bool, force: bool, template: str | None, fonts: str) -> None:
    """批量生成报告：一次处理成百上千份，多进程并行，显示进度。

    \b
    INPUTS 可以是 .json 文件、目录（其中全部 .json，含子目录）、通配符（如 '2024/*.json'）
    或 JSON Lines 文件（.jsonl，每行一份报告）。输出文件名取自“机关名称-年度”，
    去掉不能用于文件名的字符，重名时加 -2、-3。
    某份报告有错误不影响其他报告：结束时列出每个失败的文件及原因，并写出 OUTDIR/manifest.json。
    已有输出比输入和模板都新时跳过（--force 重新生成）。
    退出码：0 全部成功，1 有报告失败，2 命令行或环境有误（如未安装 LibreOffice）。

    \b
    示例：
      docxreport batch 各单位/ -o 输出/
      docxreport batch 'reports/*.json' 全县.jsonl -o out -j 4 --pdf
    """
    import os
    import time
    from datetime import datetime, timezone

    from . import batch as batches

    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    folder = Path(outdir)
    if pdf:
        _office()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"{outdir}: 无法创建输出目录（{exc.strerror}）")
    if template:
        from .renderer import Renderer

        try:
            Renderer(1).prepare(template, fonts)  # a bad template is one error now, not one per report
        except ReportFileError as exc:
            _fail(str(exc))
        except DocxReportError as exc:
            _fail(str(exc), EXIT_PROBLEMS)
    found, unreadable = batches.collect(inputs, exclude=folder)
    jobs, skipped = batches.plan(found, folder, force=force, pdf=pdf, template=template)
    total = len(jobs)
    click.echo(f"共 {len(found)} 份报告：{total} 份待生成，{len(skipped)} 份已是最新（跳过）" + (f"，{len(unreadable)} 个输入无法读取" if unreadable else ""), err=True)
    outcomes: list[batches.Outcome] = []
    progress = _Progress(total)
    try:
        for outcome in batches.run(jobs, folder, workers=workers or os.cpu_count() or 1, pdf=pdf, template=template, fonts=fonts):
            outcomes.append(outcome)
            progress.update(outcome)
    except KeyboardInterrupt:
        progress.close()
        click.echo("已中断：已完成的报告保留，manifest.json 记录到中断为止的结果", err=True)
        batches.write_manifest(folder / batches.MANIFEST, [*unreadable, *skipped, *outcomes], outdir=folder, started=started)
        sys.exit(130)
    progress.close()
    everything = [*unreadable, *skipped, *outcomes]
    content = batches.write_manifest(folder / batches.MANIFEST, everything, outdir=folder, started=started)
    failures = [o for o in sorted(everything, key=lambda o: (o.index < 0, o.index)) if o.status == "failed"]
    for o in failures:
        click.echo(f"失败：{o.label}：{o.error}", err=True)
        for p in o.problems:
            where = f"第 {p['line']} 行第 {p['column']} 列" if "line" in p else p["path"]
            click.echo(f"    {where}: {'错误' if p['severity'] == 'error' else '警告'}：{p['message']} [{p['rule']}]", err=True)
    counts = content["counts"]
    elapsed = time.monotonic() - clock
    click.echo(f"完成：{counts['ok']} 份成功，{counts['skipped']} 份跳过，{counts['failed']} 份失败，用时 {elapsed:.1f} 秒；"
               f"清单：{folder / batches.MANIFEST}", err=True)
    sys.exit(EXIT_PROBLEMS if failures else 0)


class _Progress:
    """A progress bar with rate and time left on a terminal; on a pipe or log, a plain line at every tenth."""

    def __init__(self, total: int) -> None:
        import time

        self.clock = time.monotonic
        self.total, self.done, self.failed = total, 0, 0
        self.bar: Any = None
        self.started = self.clock()
        self.next_line = 0.1
        if total and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="份", file=sys.stderr, dynamic_ncols=True, smoothing=0.1, desc="生成")

    def update(self, outcome: Any) -> None:
        self.done += 1
        self.failed += outcome.status == "failed"
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix_str(f"失败 {self.failed}", refresh=False)
            return
        if self.done >= self.total * self.next_line or self.done == self.total:
            while self.next_line <= self.done / self.total:
                self.next_line += 0.1
            elapsed = self.clock() - self.started
            rate = self.done / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate else 0.0
            click.echo(f"进度 {self.done}/{self.total}（{self.done * 100 // self.total}%），每秒 {rate:.0f} 份，"
                       f"预计还需 {left:.0f} 秒" + (f"，失败 {self.failed} 份" if self.failed else ""), err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
