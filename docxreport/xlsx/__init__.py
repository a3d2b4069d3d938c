"""Excel workbooks: the report's numbers laid out as the national tables, written and read back."""
