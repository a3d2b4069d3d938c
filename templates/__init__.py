"""The official .docx templates, shipped inside the package as ``docxreport.templates``."""
