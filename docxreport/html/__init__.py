"""HTML: the report as a web page (written from the format grid), and reading published web pages."""
