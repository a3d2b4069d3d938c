"""A complete, valid report skeleton for a clerk to fill in (``docxreport init``)."""

from __future__ import annotations

import datetime
from typing import Any

from ..format import Format, load_format
from .schema import SCHEMA_FILE

PLACEHOLDER = "（请在此填写{topic}。）"


def signing_date(year: int, today: datetime.date | None = None) -> str:
    """The date a report of ``year`` is usually signed: the last day of January of the following year
    (reports are due by 31 January), or ``today`` when that is later. ISO form, as the schema wants it."""
    due = datetime.date(year + 1, 1, 31)
    today = today or datetime.date.today()
    return max(due, today).isoformat()


def skeleton(organ: str, year: int, fmt: Format | None = None, today: datetime.date | None = None) -> dict[str, Any]:
    """Every table cell 0 (totals included), a placeholder paragraph under each usual sub-heading, the
    signing date (:func:`signing_date`, to edit) and ``$schema``: the schema's file name, relative, so that
    an editor finds it beside the report (``init`` writes it there; ``docxreport schema -o`` too)."""
    fmt = fmt or load_format()
    data: dict[str, Any] = {"$schema": SCHEMA_FILE, "format": fmt.id, "organ": organ, "year": year,
                            "date": signing_date(year, today)}
    for section in fmt.sections:
        if section.key == "overview":
            data["overview"] = [
                {"heading": h, "text": PLACEHOLDER.format(topic=f"本年度{h}工作情况")} for h in fmt.overview_subheadings
            ]
        elif section.key == "problems":
            data["problems"] = [
                {"heading": "存在问题", "body": [PLACEHOLDER.format(topic="政府信息公开工作存在的主要问题")]},
                {"heading": "改进情况", "body": [PLACEHOLDER.format(topic="上年度问题的改进情况和下一步措施")]},
            ]
        elif section.key == "other":
            data["other"] = [PLACEHOLDER.format(topic="收取信息处理费的情况和其他需要报告的事项")]
        else:
            data[section.key] = {}
    for key in fmt.data_keys:
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = 0
    return data
