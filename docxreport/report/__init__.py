"""The report data contract: strict JSON reading, the JSON Schema and its compiled quick check, the
consistency rules, validation, the skeleton and the narrative blocks.

Knows the national format (:mod:`docxreport.format`) and nothing of any file format: it never imports
python-docx, docxtpl, openpyxl or pdfplumber.
"""
