"""``python -m docxreport``: the same as the ``docxreport`` command."""

from .cli import main

main(prog_name="docxreport")
