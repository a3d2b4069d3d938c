"""The ``docxreport`` command: parse options, call the API, report.

Exit codes: 0 success (warnings allowed), 1 the report has problems, 2 a file could not be read or
written, or the command line is wrong. The group lives in :mod:`.base`; each module here adds its
commands to it.
"""

from __future__ import annotations

from . import batch, convert, data, edit, read, render, serve  # noqa: F401  (each registers its commands)
from .base import main

__all__ = ["main"]
