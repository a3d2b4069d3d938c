"""Rebuild the generated files from the format description: ``python -m docxreport.build``.

Writes ``schemas/gov-info-annual-report-2021.schema.json`` and ``templates/gov-info-annual-report-2021.docx``
(in a source checkout these are the committed files; tests fail when they are stale).
``--check`` only reports whether they are current (exit 1 when not).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import data_file
from .docx.template import TEMPLATE_FILE, build_template
from .docx.templatecompare import same_structure
from .report.schema import SCHEMA_FILE, build_schema, schema_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docxreport.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    schema_path = Path(str(data_file("schemas", SCHEMA_FILE)))
    template_path = Path(str(data_file("templates", TEMPLATE_FILE)))
    schema_text = schema_json(build_schema())
    template = build_template()
    stale = []
    if not schema_path.exists() or schema_path.read_text(encoding="utf-8") != schema_text:
        stale.append(schema_path)
    if not template_path.exists() or not same_structure(template_path.read_bytes(), template):
        stale.append(template_path)
    if args.check:
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    schema_path.write_text(schema_text, encoding="utf-8")
    template_path.write_bytes(template)
    for path in (schema_path, template_path):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
