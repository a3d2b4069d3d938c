"""Safe file output: the new content is written in full beside the target, then renamed over it.

A failure or a kill during writing leaves no partial file and an existing output untouched. On Linux the
content is first written to an unnamed file (``O_TMPFILE``), so even ``SIGKILL`` during the write leaves
nothing behind; the name appears only for the instant between linking and renaming it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import tempfile
from pathlib import Path

from .errors import ReportFileError

_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000


def read_input(path: str | os.PathLike[str], what: str = "") -> bytes:
    """The bytes of an input file; a file that cannot be read at all is one :class:`ReportFileError` line.
    ``what`` names the kind of file in messages (模板, 报告; JSON when empty)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ReportFileError(f"{path}: {what}文件不存在") from None
    except IsADirectoryError:
        raise ReportFileError(f"{path}: 这是一个目录，不是{what or ' JSON '}文件") from None
    except PermissionError:
        raise ReportFileError(f"{path}: 没有读取{what + '的' if what else ''}权限") from None
    except OSError as exc:
        raise ReportFileError(f"{path}: 无法读取（{exc.strerror}）") from None


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name the same existing file (links and relative paths resolved)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def _mode(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once per process (``find_library`` runs ``ldconfig``: about 1 ms a call)."""
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name, use_errno=True) if name else None


def _link_fd(fd: int, path: Path) -> None:
    """Give the unnamed file ``fd`` a name: ``linkat(fd, "", AT_EMPTY_PATH)`` (needs CAP_DAC_READ_SEARCH),
    else through ``/proc/self/fd`` (refused with EXDEV by some sandboxed kernels)."""
    libc = _libc()
    if libc is not None and libc.linkat(fd, b"", _AT_FDCWD, os.fsencode(path), _AT_EMPTY_PATH) == 0:
        return
    os.link(f"/proc/self/fd/{fd}", path, follow_symlinks=True)


def _unnamed(directory: Path, target: Path, data: bytes) -> bool:
    """Write through an unnamed temporary file; False when the file system cannot make one."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return False
    try:
        fd = os.open(directory, flag | os.O_WRONLY, _mode(target))
    except OSError:
        return False  # e.g. a file system without O_TMPFILE support: fall back to a named file
    link = directory / f".{target.name}.{os.getpid()}.{id(data):x}.tmp"
    try:
        _write_all(fd, data)
        _link_fd(fd, link)
    except OSError:
        os.close(fd)
        return False
    os.close(fd)
    try:
        os.replace(link, target)
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    return True


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: complete new content or the old file, never a mixture."""
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        raise ReportFileError(f"{target}: 目录 {directory} 不存在")
    if target.is_dir():
        raise ReportFileError(f"{target}: 这是一个目录")
    try:
        if _unnamed(directory, target, data):
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except PermissionError:
        raise ReportFileError(f"{target}: 没有写入目录 {directory} 的权限") from None
    except OSError as exc:
        raise ReportFileError(f"{target}: 无法写入（{exc.strerror}）") from None
    try:
        _write_all(fd, data)
        os.close(fd)
        fd = -1
        os.chmod(tmp, _mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        if fd >= 0:
            os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ReportFileError(f"{target}: 写入失败（{exc.strerror}）") from None
        raise
