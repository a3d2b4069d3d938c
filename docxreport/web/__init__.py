"""The HTTP service (``docxreport serve``) and the browser workbench, on top of the public API."""
