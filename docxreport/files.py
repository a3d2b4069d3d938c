"""Safe file output: write to a temporary file beside the target, then rename over it.

A failure or a kill during writing leaves no partial file and an existing output untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import ReportFileError


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name the same existing file (links and relative paths resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (same-directory temporary file, fsync, rename)."""
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        raise ReportFileError(f"{target}: 目录 {directory} 不存在")
    if target.is_dir():
        raise ReportFileError(f"{target}: 这是一个目录")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except PermissionError:
        raise ReportFileError(f"{target}: 没有写入目录 {directory} 的权限") from None
    except OSError as exc:
        raise ReportFileError(f"{target}: 无法写入（{exc.strerror}）") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise ReportFileError(f"{target}: 写入失败（{exc.strerror}）") from None
        raise
