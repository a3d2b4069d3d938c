"""click's own texts in Chinese (``Usage:``, ``Show this message and exit.``, every usage error).

click wraps each of its texts in :func:`gettext.gettext` / :func:`gettext.ngettext`, bound at import as the
names ``_`` and ``ngettext`` of its modules, and leaves the translation to the application. gettext picks the
language from the environment (``LANGUAGE``, ``LC_ALL``, ``LANG``) and a compiled catalog on disk; a clerk's
machine is often ``LANG=C`` and click ships no Chinese catalog. So the CLI uses its own catalog
(:class:`ClickChinese`, a :class:`gettext.NullTranslations` keyed by click's message ids) and binds it to
those two names (and a width function that counts a Chinese character as two columns) for the time of one command (:func:`chinese`), restoring them afterwards: a program that
imports docxreport next to its own click commands keeps click's texts as they were.

The message ids are click 8.x's. A message click adds or rewords falls back to English; the test that scans
every help text and usage error for English words catches it.
"""

from __future__ import annotations

import gettext
import importlib
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager

#: click's message id → Chinese. Placeholders keep click's names.
MESSAGES: dict[str, str] = {
    # help pages
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "子命令",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "required": "必填",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "不经询问直接确认。",
    # usage errors
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "请运行 '{command} {option}' 查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少子命令。",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有子命令 {name!r}。",
    "Did you mean {possibility}?": "是否应为 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否应为以下之一：{possibilities}？）",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "值无效：{message}",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不接受值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，但只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，但给了 {len} 个。",
    "Value must be an iterable.": "值必须是一组值。",
    "Aborted!": "已中止。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    # values
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不是 {choices} 之一。",
    "Choose from:\n\t{choices}": "可选值：\n\t{choices}",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 内。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是/否值，可用：{states}",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats} 中的任何一种。",
    "{len_type} values are required, but {len_value} was given.": "需要 {len_type} 个值，但给了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.": "需要 {len_type} 个值，但给了 {len_value} 个。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，不是目录。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，不是文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "Error: invalid input": "错误：输入无效",
    "Error: The two entered values do not match.": "错误：两次输入的值不一致。",
    "Repeat for confirmation": "请再输入一次以确认",
    "Press any key to continue...": "按任意键继续……",
}

#: The click modules that bind ``_`` / ``ngettext`` at import.
_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


class ClickChinese(gettext.NullTranslations):
    """A gettext translation of click's texts from :data:`MESSAGES` (no compiled catalog needed)."""

    def gettext(self, message: str) -> str:
        return MESSAGES.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.gettext(msgid1 if n == 1 else msgid2)


def display_width(text: str) -> int:
    """Terminal columns of ``text``: a Chinese character takes two (click counts characters, which
    misaligns the option table once a placeholder is Chinese)."""
    from click._compat import strip_ansi

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in strip_ansi(text))


@contextmanager
def chinese() -> Iterator[None]:
    """click speaks Chinese inside the ``with`` block (one command's run); as before afterwards."""
    translation = ClickChinese()
    saved: list[tuple[object, str, object]] = []
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        for attr, replacement in (("_", translation.gettext), ("ngettext", translation.ngettext)):
            if hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, replacement)
    formatting = importlib.import_module("click.formatting")
    saved.append((formatting, "term_len", formatting.term_len))
    formatting.term_len = display_width
    try:
        yield
    finally:
        for module, attr, original in reversed(saved):
            setattr(module, attr, original)
