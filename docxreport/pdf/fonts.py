"""The faces LibreOffice uses for a report's PDF on a system without the official fonts.

A report names the GB/T 9704 faces (方正小标宋简体, 仿宋_GB2312, 黑体, 楷体_GB2312, 宋体, Times New Roman). A Linux
server rarely has them, and fontconfig's own fallback gives every Chinese face the first CJK font it knows
(often Noto Sans CJK JP: Japanese glyph variants, one sans face for title, body and headings alike). The
package ships ``fonts.conf``, which appends a free stand-in with simplified-Chinese glyphs after each
official face (a heavy Song for the title, a kai face for 楷体, a hei face for 黑体, …; see docs/pdf.md), so an
installed official font still wins. It reaches LibreOffice through ``FONTCONFIG_FILE`` in the environment of
the office process only: nothing on the user's system changes.

Only fontconfig platforms (Linux, the BSDs) are concerned; on Windows and macOS LibreOffice uses the
system's font APIs and the environment is returned unchanged.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

#: The configuration the package ships (aliases; it includes the system configuration first).
FONTS_CONF = Path(__file__).resolve().with_name("fonts.conf")
#: Where fontconfig reads its system configuration when FONTCONFIG_FILE is not set.
SYSTEM_CONFIGS = ("/etc/fonts/fonts.conf", "/usr/local/etc/fonts/fonts.conf")
_SHIPPED_INCLUDE = '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'


def uses_fontconfig(platform: str = sys.platform) -> bool:
    """Whether LibreOffice finds its fonts through fontconfig on ``platform``."""
    return not platform.startswith(("win", "cygwin", "darwin"))


def office_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to start LibreOffice with: ``base`` (default: ``os.environ``) plus ``FONTCONFIG_FILE``
    naming a configuration that includes the system's (or the one ``base`` already names) and then the
    package's stand-ins for the official faces."""
    env = dict(os.environ if base is None else base)
    if not uses_fontconfig() or not FONTS_CONF.is_file():
        return env
    system = env.get("FONTCONFIG_FILE") or next((p for p in SYSTEM_CONFIGS if os.path.isfile(p)), None)
    if system == SYSTEM_CONFIGS[0] and "FONTCONFIG_PATH" not in env:
        env["FONTCONFIG_FILE"] = str(FONTS_CONF)  # the shipped file includes exactly this one
        return env
    env["FONTCONFIG_FILE"] = str(_wrapper(system))
    return env


def _wrapper(system: str | None) -> Path:
    """A configuration that includes ``system`` and then the shipped aliases (without the shipped file's
    own include of /etc/fonts/fonts.conf), written once per distinct ``system`` to the temporary folder."""
    aliases = FONTS_CONF.read_text(encoding="utf-8").replace(_SHIPPED_INCLUDE, "")
    include = f'<include ignore_missing="yes">{escape(system)}</include>' if system else ""
    text = aliases.replace("<fontconfig>", "<fontconfig>\n  " + include, 1)
    folder = Path(tempfile.gettempdir()) / f"docxreport-fonts-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / f"fonts-{hashlib.sha256(text.encode()).hexdigest()[:16]}.conf"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        scratch = target.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, target)
    return target
