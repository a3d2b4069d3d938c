"""Structural comparison of .docx packages: same parts, same XML after canonicalisation."""

from __future__ import annotations

import io
import zipfile

from lxml import etree


def parts(document: bytes) -> dict[str, bytes]:
    """Each part of a package; XML parts canonicalised (C14N, insignificant whitespace dropped)."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    out = {}
    with zipfile.ZipFile(io.BytesIO(document)) as archive:
        for name in sorted(archive.namelist()):
            blob = archive.read(name)
            if name.endswith((".xml", ".rels")):
                blob = etree.tostring(etree.fromstring(blob, parser), method="c14n")
            out[name] = blob
    return out


def same_structure(a: bytes, b: bytes) -> bool:
    """True when two packages hold the same parts with the same canonical XML."""
    return parts(a) == parts(b)
