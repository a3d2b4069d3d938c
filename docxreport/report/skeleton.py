"""A complete, valid report skeleton for a clerk to fill in (``docxreport init``)."""

from __future__ import annotations

from typing import Any

from ..format import Format, load_format

PLACEHOLDER = "（请在此填写{topic}。）"


def skeleton(organ: str, year: int, fmt: Format | None = None) -> dict[str, Any]:
    """Every table cell 0 (totals included) and a placeholder paragraph under each usual sub-heading."""
    fmt = fmt or load_format()
    data: dict[str, Any] = {"format": fmt.id, "organ": organ, "year": year}
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
