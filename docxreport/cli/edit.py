"""``edit``: the filing workbench for one person at their desk, saving every change to a file."""

from __future__ import annotations

import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import click

from .base import CONTEXT, _fail, main


def _read(path: Path) -> tuple[Any, list[Any]]:
    """The report in ``path`` (JSON, or an Excel workbook in the national layout) and what reading it met;
    exit 2 when it cannot be used. A workbook whose reading has problems still opens (they are printed
    with their sheet and cell, and the page shows them)."""
    from ..errors import DocxReportError
    from ..files import read_input
    from ..filetypes import describe, sniff
    from ..sources import WrongKindError, read_data

    workbook = path.suffix.lower() == ".xlsx"
    try:
        raw = read_input(path, "工作簿" if workbook else "")
        if workbook:
            kind = sniff(raw, str(path))
            if kind == "encrypted":
                _fail(f"{path}: 工作簿设置了打开密码（已加密），无法读取；请在 Excel 或 WPS 中取消打开密码后另存，再运行 docxreport edit")
            if kind != "xlsx":
                _fail(f"{path}: 不是有效的 Excel 工作簿（{describe(kind)}；文件可能已损坏或未保存完整）")
        data, problems = read_data(raw, str(path))
    except WrongKindError as exc:
        _fail(f"{exc}；docxreport edit 编辑报告数据（.json 或 .xlsx 工作簿）。已成文的报告可在页面中用“打开…”读取")
    except DocxReportError as exc:
        _fail(str(exc))
    if data is None:
        first = problems[0] if problems else None
        _fail(f"{path}: 不是有效的 JSON" + (f"（{first.location}：{first.message}）" if first else ""))
    if not isinstance(data, dict):
        _fail(f"{path}: 顶层应为对象（报告数据）")
    return data, problems if workbook else []


@main.command(context_settings=CONTEXT)
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default="任一空闲端口", help="监听端口（只监听本机 127.0.0.1）。")
@click.option("--no-browser", is_flag=True, help="不自动打开浏览器，只显示地址。")
def edit(file: Path | None, port: int, no_browser: bool) -> None:
    """在浏览器中填写报告：国家格式的三张表和六部分正文，边填边检查，每次修改自动保存到 FILE。

    \b
    FILE 为报告数据（.json）或 Excel 工作簿（.xlsx，国家格式的版式，与 init、convert 生成的相同）；
    不存在时从新骨架开始并保存到该文件；省略时页面会询问保存位置（.json 或 .xlsx）。
    第一次保存前，原文件另存为 FILE.bak（如 report.xlsx.bak）。编辑期间文件若被其他程序
    （Excel、WPS 等）改动并保存，页面不再覆盖它，并提示先另存。
    地址中带有随机口令，只有本机打开该地址的人可以使用。需要安装 docxreport[server]。按 Ctrl+C 结束。

    \b
    保存为工作簿时按本工具的版式重写整个文件：读取时列出的问题（含工作表和单元格）照常显示；
    原工作簿中其他工作表、批注、自设格式和公式不保留（原文件在 FILE.bak 中）；
    空白单元格保存为 0；与分项之和相符的合计保存为公式；"$schema" 提示不保存。

    \b
    示例：
      docxreport edit report.json
      docxreport edit report.xlsx
      docxreport edit --port 8765 --no-browser report.json
    """
    try:
        import uvicorn

        from ..web import server
        from ..web.service import Settings, SettingsError
        from ..web.workbench import DOCUMENT_SUFFIXES, DocumentStore, read_only, use_document
    except ImportError as exc:
        _fail(f"填报页面需要可选依赖（缺少 {exc.name or exc}）：请执行 pip install \"docxreport[server]\"")

    data: Any = None
    problems: list[Any] = []
    if file is not None:
        file = file.expanduser().resolve()
        if file.exists():
            data, problems = _read(file)
            if read_only(file):
                _fail(f"{file}: 文件为只读，docxreport edit 会把每次修改保存到它；请取消文件的只读属性，或复制一份后编辑副本")
        elif not file.parent.is_dir():
            _fail(f"{file}: 目录 {file.parent} 不存在")
        elif file.suffix.lower() not in DOCUMENT_SUFFIXES:
            _fail(f"{file}: 请以 .json（报告数据）或 .xlsx（Excel 工作簿）结尾")
    # without data the page starts from its own skeleton (totals computed, not stated)
    token = secrets.token_urlsafe(24)
    try:
        settings = Settings.from_env(api_key=token, cors_origins=())
    except SettingsError as exc:
        _fail(str(exc))
    app = server.create_app(settings)
    use_document(app, DocumentStore(file, data, backup_done=file is None or not file.exists(), read_problems=problems))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        _fail(f"无法监听 127.0.0.1:{port}（{exc.strerror}）；换一个 --port，或省略它使用任一空闲端口")
    address = f"http://127.0.0.1:{sock.getsockname()[1]}/#key={token}"
    config = uvicorn.Config(app, log_config=server.log_config(), access_log=False, server_header=False,
                            timeout_graceful_shutdown=5)
    uvicorn_server = uvicorn.Server(config)
    click.echo(f"填报页面：{address}")
    click.echo(f"保存到：{file}" if file else "保存位置：在页面中第一次修改时选择")
    click.echo("按 Ctrl+C 结束。")
    sys.stdout.flush()
    if problems:  # after the address: whoever reads the first line for it finds it there
        from ..problems import problem_line

        for problem in problems:
            click.echo(problem_line(str(file), problem), err=True)
        click.echo(f"{file}: 读取时发现 {len(problems)} 处问题（见上，页面中也会提示），仍可在页面中修改", err=True)
    if not no_browser:
        import webbrowser

        webbrowser.open(address)
    try:
        uvicorn_server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
