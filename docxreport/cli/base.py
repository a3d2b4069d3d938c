"""The ``docxreport`` command group and what its commands share: exit codes, messages, sources.

Exit codes: 0 success (warnings allowed), 1 the report has problems, 2 a file could not be read or
written, or the command line is wrong.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__

EXIT_PROBLEMS = 1
EXIT_UNREADABLE = 2

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(message: str, code: int = EXIT_UNREADABLE) -> NoReturn:
    click.echo(f"docxreport: {message}", err=True)
    sys.exit(code)


def _replacing(output: str, force: bool) -> bool:
    """The overwrite rule (:mod:`docxreport.outputs`) for ``output``: True when an existing file will be
    replaced (docxreport's own unchanged output, or any file with ``force``); exit 2 when it is kept."""
    from ..outputs import existing, refusal

    if Path(output).is_dir():
        _fail(f"{output}: 这是一个目录，请指定文件名")
    state = existing(output)
    if state == "other" and not force:
        _fail(refusal(output))
    return state != "absent"


def _source(path: str) -> Any:
    return sys.stdin.buffer if path == "-" else path


def _display(path: str) -> str:
    return "<标准输入>" if path == "-" else path


# --------------------------------------------------------------------------- commands


#: Placeholders for option values in help, by click's type name (an explicit ``metavar`` wins).
_METAVARS = {"text": "文本", "integer": "整数", "integer range": "整数", "float": "数值", "float range": "数值",
             "file": "文件", "directory": "目录", "path": "路径", "filename": "文件"}


def _chinese_metavars(params: list[click.Parameter]) -> None:
    for param in params:
        name = getattr(param.type, "name", "")
        if isinstance(param, click.Option) and param.metavar is None and not param.is_flag and name in _METAVARS:
            param.metavar = _METAVARS[name]
        if isinstance(param.type, click.Path) and name in _METAVARS:  # "File 'x' does not exist": named at import
            param.type.name = _METAVARS[name]


class Command(click.Command):
    """A subcommand whose help shows Chinese placeholders (``[选项]``, ``--year 整数``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        super().__init__(*args, **kwargs)
        _chinese_metavars(self.params)


class Group(click.Group):
    """The command group: click's own texts (usage, help, usage errors) in Chinese while a command runs
    (:mod:`.zh`); its subcommands are :class:`Command`."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", "[选项]")
        kwargs.setdefault("subcommand_metavar", "子命令 [参数]...")
        super().__init__(*args, **kwargs)
        _chinese_metavars(self.params)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        from .zh import chinese

        with chinese():
            return super().main(*args, **kwargs)


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="docxreport", message="%(prog)s 版本 %(version)s", help="显示版本号并退出。")
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


def _office() -> str:
    """The LibreOffice executable for --pdf; exit 2 with the Chinese explanation when there is none."""
    from ..pdf.office import OfficeNotFoundError, find_office

    try:
        return find_office()
    except OfficeNotFoundError as exc:
        _fail(str(exc))


def _data_json(data: Any) -> str:
    from ..report.jsonfile import dumps

    return dumps(data)
