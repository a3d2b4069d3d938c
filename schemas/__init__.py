"""The report JSON Schemas, shipped inside the package as ``docxreport.schemas``."""
