"""Where the shipped data files are: inside the installed package, or beside it in a source checkout."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable
from pathlib import Path


def data_file(folder: str, name: str) -> Traversable:
    """``schemas/…`` or ``templates/…``: installed as ``docxreport.<folder>``, or the checkout's folder
    when the package is imported from a source tree (``python -m docxreport`` in a clone)."""
    try:
        return resources.files(f"docxreport.{folder}").joinpath(name)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / folder / name
