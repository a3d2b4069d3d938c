"""``batch``: many reports at once, with progress and a manifest."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import DocxReportError, ReportFileError
from .base import CONTEXT, EXIT_PROBLEMS, EXIT_UNREADABLE, _fail, _office, main


@main.command(context_settings=CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False), help="输出目录（不存在时创建）；其中的 manifest.json 记录每个输入的结果。")
@click.option("-j", "--jobs", "workers", type=click.IntRange(1, 256), default=None, help="并行的工作进程数（默认为 CPU 核数）。")
@click.option("--pdf", is_flag=True, help="同时用 LibreOffice 转为 PDF（每个工作进程成批转换）。")
@click.option("--pdf-a", "pdfa", is_flag=True, help="PDF 为 PDF/A-2b（长期存档格式，供档案部门）；隐含 --pdf。")
@click.option("--force", is_flag=True, help="重新生成所有报告，并覆盖输出目录中不是本工具生成（或生成后改过）的同名文件。")
@click.option("--template", type=click.Path(dir_okay=False, exists=True), help="使用本单位的 .docx 模板，默认为内置国家格式模板。")
@click.option("--fonts", type=click.Choice(["official", "windows"]), default="official", show_default=True, help="字体方案，同 render。")
def batch(inputs: tuple[str, ...], outdir: str, workers: int | None, pdf: bool, pdfa: bool, force: bool, template: str | None,
          fonts: str) -> None:
    """批量生成报告：一次处理成百上千份，多进程并行，显示进度。

    \b
    INPUTS 可以是 .json 文件、目录（其中全部 .json，含子目录）、通配符（如 '2024/*.json'）
    或 JSON Lines 文件（.jsonl，每行一份报告）。输出文件名取自“机关名称-年度”，
    去掉不能用于文件名的字符，重名时加 -2、-3。
    某份报告有错误不影响其他报告：结束时列出每个失败的文件及原因，并写出 OUTDIR/manifest.json。
    manifest.json 记录每份输出由什么生成（输入内容的摘要、模板、字体方案、docxreport 版本）：
    再次运行时，这些都没变且输出未被改动的报告跳过，其余重新生成（--force 全部重新生成）。
    覆盖规则同 render：只替换本工具生成、之后未经改动的文件；输出目录中别的同名文件保留，
    该报告记为失败（--force 覆盖）。
    中断（Ctrl-C 或 SIGTERM）时保留已完成的报告，并写出记录到中断为止的 manifest.json。
    退出码：0 全部成功，1 有报告失败，2 命令行或环境有误（如未安装 LibreOffice、无法写入 manifest.json）。

    \b
    示例：
      docxreport batch 各单位/ -o 输出/
      docxreport batch 'reports/*.json' 全县.jsonl -o out -j 4 --pdf
    """
    import os
    import time
    from datetime import datetime, timezone

    from .. import batch as batches

    started = datetime.now(timezone.utc)
    clock = time.monotonic()
    folder = Path(outdir)
    pdf = pdf or pdfa
    if pdf:
        _office()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"{outdir}: 无法创建输出目录（{exc.strerror}）")
    if template:
        from ..docx.renderer import Renderer

        try:
            Renderer(1).prepare(template, fonts)  # a bad template is one error now, not one per report
        except ReportFileError as exc:
            _fail(str(exc))
        except DocxReportError as exc:
            _fail(str(exc), EXIT_PROBLEMS)
    found, unreadable = batches.collect(inputs, exclude=folder)
    jobs, skipped = batches.plan(found, folder, force=force, pdf=pdf, template=template, fonts=fonts, pdfa=pdfa)
    total = len(jobs)
    kept = sum(o.status == "failed" for o in skipped)
    click.echo(f"共 {len(found)} 份报告：{total} 份待生成，{len(skipped) - kept} 份已是最新（跳过）"
               + (f"，{kept} 份的输出位置已有别的文件（未覆盖）" if kept else "")
               + (f"，{len(unreadable)} 个输入无法读取" if unreadable else ""), err=True)
    outcomes: list[batches.Outcome] = []
    progress = _Progress(total)
    try:
        for outcome in batches.run(jobs, folder, workers=workers or os.cpu_count() or 1, pdf=pdf, template=template,
                                   fonts=fonts, salvage=outcomes, pdfa=pdfa):
            outcomes.append(outcome)
            progress.update(outcome)
    except (KeyboardInterrupt, SystemExit) as exc:  # Ctrl-C, or SIGTERM (raised as SystemExit by the group)
        progress.close()
        code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130
        click.echo("已中断：已完成的报告保留，manifest.json 记录到中断为止的结果", err=True)
        _finish([*unreadable, *skipped, *outcomes], folder, started, clock, code)
    progress.close()
    _finish([*unreadable, *skipped, *outcomes], folder, started, clock, None)


def _finish(everything: list[Any], folder: Path, started: Any, clock: float, code: int | None) -> None:
    """Write the manifest, list every failure, sum up and exit. A manifest that cannot be written (a full
    or read-only folder) is said in one line; the failures are still listed; exit 2."""
    import time

    from .. import batch as batches

    manifest_error = None
    try:
        content = batches.write_manifest(folder / batches.MANIFEST, everything, outdir=folder, started=started)
    except (ReportFileError, OSError) as exc:
        manifest_error = str(exc) if isinstance(exc, ReportFileError) else f"{folder / batches.MANIFEST}: 无法写入（{exc.strerror}）"
        content = batches.manifest(everything, outdir=folder, started=started)
    failures = [o for o in sorted(everything, key=lambda o: (o.index < 0, o.index)) if o.status == "failed"]
    for o in failures:
        click.echo(f"失败：{o.label}：{o.error}", err=True)
        for p in o.problems:
            where = f"第 {p['line']} 行第 {p['column']} 列" if "line" in p else p["path"]
            click.echo(f"    {where}: {'错误' if p['severity'] == 'error' else '警告'}：{p['message']} [{p['rule']}]", err=True)
    counts = content["counts"]
    elapsed = time.monotonic() - clock
    record = f"清单：{folder / batches.MANIFEST}" if manifest_error is None else "清单未能写出"
    click.echo(f"完成：{counts['ok']} 份成功，{counts['skipped']} 份跳过，{counts['failed']} 份失败，用时 {elapsed:.1f} 秒；{record}", err=True)
    if manifest_error is not None:
        click.echo(f"docxreport: 无法写入清单 {manifest_error}；下次运行将重新生成全部报告", err=True)
        sys.exit(code or EXIT_UNREADABLE)
    sys.exit(code if code is not None else EXIT_PROBLEMS if failures else 0)


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
