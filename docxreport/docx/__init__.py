"""Word (.docx): building the official template, preparing templates, rendering reports into them, and
reading finished reports back (``reader``) into the reader-neutral document model of
:mod:`docxreport.document`.

The only package that touches WordprocessingML; :mod:`docxreport.docx.ooxml` is the one module that writes it.
"""
