"""The warm office's other half: a small program run by a Python that has LibreOffice's UNO bridge.

Not imported by docxreport: :mod:`docxreport.pdf.warm` runs it as a separate process with an interpreter
that can ``import uno`` (Debian's python3-uno is installed for the system ``python3`` only; LibreOffice on
Windows and macOS brings its own ``program/python``). It starts ``soffice`` with a private profile,
listening on a private pipe, connects to it, then converts one document per request::

    stdin:  {"source": "/abs/in.docx", "target": "/abs/out.pdf", "filter": "writer_pdf_Export",
             "options": {"SelectPdfVersion": 2}}
    stdout: {"ok": true}  or  {"error": "what went wrong"}

one JSON object per line; the first line written is ``{"ready": true}`` (or an error) once the office
answers. End of input stops the office. Everything else (deadlines, restarts, killing a hung office) is the
parent's job: this program only converts. Standard library and ``uno`` only, any Python 3.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

import uno  # noqa: I001  (only available to LibreOffice's Python)
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def _properties(**values):  # type: ignore[no-untyped-def]
    out = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name, prop.Value = name, value
        out.append(prop)
    return tuple(out)


def _start(soffice, profile_url, pipe, memory):  # type: ignore[no-untyped-def]
    if memory:  # bound the office's address space; inherited by soffice.bin
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    command = [soffice, "-env:UserInstallation=" + profile_url, "--headless", "--invisible", "--norestore",
               "--nolockcheck", "--nodefault", "--nologo",
               "--accept=pipe,name=" + pipe + ";urp;StarOffice.ComponentContext"]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _connect(process, pipe, deadline):  # type: ignore[no-untyped-def]
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    while True:
        try:
            context = resolver.resolve("uno:pipe,name=" + pipe + ";urp;StarOffice.ComponentContext")
            return context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        except Exception:
            if process.poll() is not None:
                raise RuntimeError("LibreOffice exited with status %s while starting" % process.returncode)
            if time.monotonic() > deadline:
                raise RuntimeError("LibreOffice did not answer within the start time")
            time.sleep(0.1)


def _filter_data(options):  # type: ignore[no-untyped-def]
    return uno.Any("[]com.sun.star.beans.PropertyValue", _properties(**options))


def _convert(desktop, request):  # type: ignore[no-untyped-def]
    source = uno.systemPathToFileUrl(request["source"])
    target = uno.systemPathToFileUrl(request["target"])
    # UpdateDocMode 0 = NO_UPDATE: linked content (fields, OLE links, linked images) is not refreshed
    document = desktop.loadComponentFromURL(source, "_blank", 0, _properties(
        Hidden=True, ReadOnly=True, UpdateDocMode=0, MacroExecutionMode=0))
    if document is None:
        raise RuntimeError("LibreOffice could not open the document")
    try:
        if request.get("language"):
            _declare_language(document)
        store = {"FilterName": request["filter"]}
        if request.get("options"):
            store["FilterData"] = _filter_data(request["options"])
        document.storeToURL(target, _properties(**store))
    finally:
        try:
            document.close(True)
        except Exception:
            document.dispose()


def _declare_language(document):  # type: ignore[no-untyped-def]
    """PDF's /Lang is Writer's default (Western) language: make it the document's declared language
    (``dc:language`` of the .docx core properties), so the PDF says zh-CN rather than the template's en-US."""
    locale = document.DocumentProperties.Language
    if locale is not None and locale.Language:
        document.createInstance("com.sun.star.text.Defaults").setPropertyValue("CharLocale", locale)


def _watch_parent():  # type: ignore[no-untyped-def]
    """When the process that started us dies (killed on a deadline, say), take the office down with us:
    we lead the process group the office is in."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(os.getpgid(0), signal.SIGKILL)


def main():  # type: ignore[no-untyped-def]
    threading.Thread(target=_watch_parent, daemon=True).start()
    soffice, profile_url, pipe, memory, start_time = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    out = sys.stdout
    process = _start(soffice, profile_url, pipe, memory)
    try:
        try:
            desktop = _connect(process, pipe, time.monotonic() + start_time)
        except Exception as exc:
            out.write(json.dumps({"error": str(exc)}) + "\n")
            out.flush()
            return
        out.write(json.dumps({"ready": True, "pid": process.pid}) + "\n")
        out.flush()
        for line in sys.stdin:
            try:
                _convert(desktop, json.loads(line))
                answer = {"ok": True}
            except Exception as exc:  # a UNO exception's message is in .Message
                answer = {"error": (getattr(exc, "Message", "") or str(exc) or type(exc).__name__)[:500]}
            out.write(json.dumps(answer) + "\n")
            out.flush()
        try:
            desktop.terminate()
        except Exception:
            pass
    finally:
        try:
            process.wait(timeout=5)
        except Exception:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
