"""Batch rendering: inputs, safe output names, skipping what is up to date, failures that never stop the
batch, worker processes, the manifest, and the ``docxreport batch`` command."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import docxreport
from docxreport import batch
from docxreport.batch import Input, collect, plan, run, safe_name

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = json.loads((ROOT / "examples" / "county-bureau-2024.json").read_text(encoding="utf-8"))
INVALID = (ROOT / "examples" / "invalid" / "row-total.json").read_text(encoding="utf-8")


def report(organ: str, year: int = 2024) -> str:
    return json.dumps({**EXAMPLE, "organ": organ, "year": year}, ensure_ascii=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def age(path: Path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` older."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - int(seconds * 1e9)))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docxreport", "batch", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(("text", "expected"), [
    ("某某县自然资源局-2024", "某某县自然资源局-2024"),
    ("../../etc/passwd-2024", "_.._etc_passwd-2024"),
    ("..\\..\\windows\\system32", "_.._windows_system32"),
    ('A<B>:"C"|D?*-2024', "A_B___C__D__-2024"),
    ("CON", "_CON"),
    ("nul.2024", "_nul.2024"),
    ("...", "report"),
    ("  .hidden-2024 ", "hidden-2024"),
    ("局\u202egnp.exe-2024", "局gnp.exe-2024"),  # a right-to-left override would disguise the extension
    ("换\n行\t局-2024", "换_行_局-2024"),
    ("e\u0301-2024", "é-2024"),  # one normal form, so equal names compare equal
    ("-rf-2024", "_rf-2024"),  # a name starting with a dash reads as an option in a shell
    ("--", "report"),
    ("某局\u2028第二行\u2029-2024", "某局第二行-2024"),  # line and paragraph separators
])
def test_safe_names(text: str, expected: str) -> None:
    assert safe_name(text) == expected


def test_safe_names_are_bounded() -> None:
    name = safe_name("县" * 300 + "-2024")
    assert len(name) == batch.NAME_MAX_CHARS and len(name.encode("utf-8")) < 255


# --------------------------------------------------------------------------- inputs and plans


def test_collect_takes_files_folders_globs_and_json_lines(tmp_path: Path) -> None:
    write(tmp_path / "a.json", report("甲局"))
    write(tmp_path / "dir" / "sub" / "b.json", report("乙局"))
    write(tmp_path / "dir" / "notes.txt", "not a report")
    write(tmp_path / "dir" / ".hidden.json", report("隐藏"))
    write(tmp_path / "g" / "c.json", report("丙局"))
    write(tmp_path / "all.jsonl", report("丁局") + "\n\n" + report("戊局") + "\n")
    write(tmp_path / "out" / "manifest.json", "{}")
    inputs, failed = collect([str(tmp_path / "a.json"), str(tmp_path / "dir"), str(tmp_path / "g" / "*.json"),
                              str(tmp_path / "all.jsonl"), str(tmp_path / "a.json"), str(tmp_path / "missing.json"),
                              str(tmp_path / "none" / "*.json"), str(tmp_path)], exclude=tmp_path / "out")
    labels = [i.label.replace(str(tmp_path) + os.sep, "") for i in inputs]
    assert labels == ["a.json", os.path.join("dir", "sub", "b.json"), os.path.join("g", "c.json"), "all.jsonl:1", "all.jsonl:3"]
    assert [(Path(f.input).name, f.error) for f in failed] == [("missing.json", "文件不存在"), ("*.json", "没有匹配的文件")]
    assert json.loads(inputs[4].read())["organ"] == "戊局"


def test_an_input_folder_inside_the_output_folder_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "out" / "inputs" / "a.json", report("甲局"))
    inputs, failed = collect([str(tmp_path / "out" / "inputs")], exclude=tmp_path / "out")
    assert inputs == []
    assert [f.error for f in failed] == [f"该目录位于输出目录 {tmp_path / 'out'} 之内：输出目录中的文件不作为输入，请把输入放在输出目录之外"]


def test_the_service_names_downloads_with_the_same_safe_name() -> None:
    from docxreport.web.service import content_disposition, report_file_name

    name = report_file_name({"organ": "-某局\u2028第二行", "year": 2024}, ".docx")
    assert name == "_某局第二行2024年政府信息公开工作年度报告.docx"
    assert "%E2%80%A8" not in content_disposition(name)


def test_outputs_are_named_from_organ_and_year_with_collisions_resolved(tmp_path: Path) -> None:
    files = [write(tmp_path / "1.json", report("某某局")), write(tmp_path / "2.json", report("某某局")),
             write(tmp_path / "3.json", report("某某局", 2023)), write(tmp_path / "4.json", report("ABC局")),
             write(tmp_path / "5.json", report("abc局")), write(tmp_path / "broken.json", "{not json"),
             write(tmp_path / "6.json", report("../../秘密"))]
    jobs, skipped = plan([Input(str(f)) for f in files], tmp_path / "out")
    assert skipped == []
    assert [j.output for j in jobs] == ["某某局-2024.docx", "某某局-2024-2.docx", "某某局-2023.docx", "ABC局-2024.docx",
                                        "abc局-2024-2.docx", "broken.docx", "_.._秘密-2024.docx"]


def _run_and_record(inputs: list[Input], out: Path, **options: object) -> tuple[list[batch.Job], list[batch.Outcome]]:
    """plan, run in process and write the manifest, as the command does; returns what was planned."""
    jobs, aside = plan(inputs, out, **options)  # type: ignore[arg-type]
    run_options = {k: v for k, v in options.items() if k in ("template", "fonts", "pdf")}
    outcomes = list(run(jobs, out, workers=0, **run_options))  # type: ignore[arg-type]
    batch.write_manifest(out / batch.MANIFEST, [*aside, *outcomes], outdir=out)
    return jobs, aside


def test_up_to_date_is_decided_from_what_made_the_output(tmp_path: Path) -> None:
    source = write(tmp_path / "in" / "r.json", report("某某局"))
    out = tmp_path / "out"
    out.mkdir()
    inputs = [Input(str(source))]
    assert len(_run_and_record(inputs, out)[0]) == 1
    jobs, aside = _run_and_record(inputs, out)
    assert jobs == [] and [s.status for s in aside] == ["skipped"]  # same input, template, fonts, version
    manifest = json.loads((out / batch.MANIFEST).read_text(encoding="utf-8"))
    made_from = manifest["reports"][0]["made_from"]
    assert made_from["template"] == "bundled" and made_from["fonts"] == "official"
    assert made_from["generator"] == f"docxreport {docxreport.__version__}" and len(made_from["input_sha256"]) == 64
    assert len(plan(inputs, out, force=True)[0]) == 1
    assert len(plan(inputs, out, fonts="windows")[0]) == 1  # another font profile
    assert len(plan(inputs, out, pdfa=True)[0]) == 1  # PDF/A asked for: what was made is not what is wanted
    assert len(plan(inputs, out, pdf=True)[0]) == 1  # no PDF yet
    template = tmp_path / "t.docx"
    template.write_bytes((ROOT / "templates" / "gov-info-annual-report-2021.docx").read_bytes())
    assert len(_run_and_record(inputs, out, template=template)[0]) == 1  # a custom template renders again
    assert plan(inputs, out, template=template)[0] == []
    assert len(plan(inputs, out)[0]) == 1  # back to the bundled template: renders again
    template.write_bytes(template.read_bytes() + b"\0")  # the same template file, changed
    assert len(plan(inputs, out, template=template)[0]) == 1
    # times do not count: an output touched to look new, an input touched to look old
    _run_and_record(inputs, out)
    os.utime(out / "某某局-2024.docx", (1, 1))
    age(source, 3600)
    assert plan(inputs, out)[0] == []
    # the content does: a changed input renders again, whatever its time
    stat = source.stat()
    source.write_text(report("某某局").replace("2024", "2024 ", 1), encoding="utf-8")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert len(plan(inputs, out)[0]) == 1


def test_an_output_edited_since_is_kept_unless_forced(tmp_path: Path) -> None:
    source = write(tmp_path / "r.json", report("某某局"))
    out = tmp_path / "out"
    out.mkdir()
    _run_and_record([Input(str(source))], out)
    docx = out / "某某局-2024.docx"
    docx.write_bytes(docx.read_bytes()[:-1] + b"x")  # changed since (the seal no longer matches either)
    jobs, aside = plan([Input(str(source))], out)
    assert jobs == [] and aside[0].status == "failed" and "未覆盖" in (aside[0].error or "")  # not ours any more: kept
    assert len(plan([Input(str(source))], out, force=True)[0]) == 1


def test_a_deleted_input_that_shifts_the_names_renders_again(tmp_path: Path) -> None:
    first = write(tmp_path / "1.json", report("某某局"))
    second = write(tmp_path / "2.json", report("某某局").replace('"total"', '"total" ', 1))
    out = tmp_path / "out"
    out.mkdir()
    _run_and_record([Input(str(first)), Input(str(second))], out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "某某局-2024-2.docx", "某某局-2024.docx"]
    first.unlink()
    jobs, aside = _run_and_record([Input(str(second))], out)
    assert [(j.input.path, j.output) for j in jobs] == [(str(second), "某某局-2024.docx")] and aside == []
    entry = json.loads((out / batch.MANIFEST).read_text(encoding="utf-8"))["reports"][0]
    assert entry["made_from"]["input_sha256"] == hashlib.sha256(second.read_bytes()).hexdigest()


def test_a_symlink_to_another_file_renders_again(tmp_path: Path) -> None:
    old = write(tmp_path / "old.json", report("某某局"))
    new = write(tmp_path / "new.json", report("某某局").replace('"total"', '"total" ', 1))
    link = tmp_path / "link.json"
    link.symlink_to(old)
    out = tmp_path / "out"
    out.mkdir()
    _run_and_record([Input(str(link))], out)
    link.unlink()
    link.symlink_to(new)
    age(new, 3600)  # older than the output: a time-based rule would skip it
    assert len(plan([Input(str(link))], out)[0]) == 1


def test_a_file_batch_did_not_make_is_kept_unless_forced(tmp_path: Path) -> None:
    source = write(tmp_path / "r.json", report("某某局"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "某某局-2024.docx").write_bytes(b"a clerk's own file")
    jobs, aside = plan([Input(str(source))], out)
    assert jobs == [] and aside[0].status == "failed"
    assert aside[0].error == "输出目录中已有 某某局-2024.docx，且不是 docxreport 生成后未经改动的文件，未覆盖（确需覆盖请加 --force）"
    assert len(plan([Input(str(source))], out, force=True)[0]) == 1


# --------------------------------------------------------------------------- running


def test_bad_inputs_fail_alone_and_say_why(tmp_path: Path) -> None:
    good = write(tmp_path / "good.json", report("甲局"))
    bad = write(tmp_path / "bad.json", INVALID)
    broken = write(tmp_path / "broken.json", '{"organ": "乙局",')
    jobs, _ = plan([Input(str(p)) for p in (bad, good, broken)], tmp_path)
    outcomes = {Path(o.input).name: o for o in run(jobs, tmp_path, workers=0)}
    assert outcomes["good.json"].status == "ok"
    assert zipfile.ZipFile(tmp_path / outcomes["good.json"].output).testzip() is None
    assert outcomes["bad.json"].status == "failed" and outcomes["bad.json"].output is None
    assert {p["rule"] for p in outcomes["bad.json"].problems} >= {"row_total"}
    assert outcomes["broken.json"].problems[0]["rule"].startswith("json.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "broken.json", "good.json", "甲局-2024.docx"]


def test_worker_processes_render_what_one_process_renders(tmp_path: Path) -> None:
    lines = [report(f"第{i}局") for i in range(30)]
    source = write(tmp_path / "all.jsonl", "\n".join(lines) + "\n")
    inputs, _ = collect([str(source)])
    jobs, _ = plan(inputs, tmp_path / "one")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    alone = sorted(run(jobs, tmp_path / "one", workers=0), key=lambda o: o.index)
    together = sorted(run(jobs, tmp_path / "two", workers=2), key=lambda o: o.index)
    assert [(o.status, o.output, o.line) for o in together] == [(o.status, o.output, o.line) for o in alone]
    assert all(o.status == "ok" for o in together)
    for o in together:
        assert (tmp_path / "two" / o.output).read_bytes() == (tmp_path / "one" / o.output).read_bytes()


class CrashingInput(Input):
    """An input whose reading kills the worker process, as a crash in a C library or the OOM killer would."""

    def read(self) -> bytes:
        if os.environ.get("DOCXREPORT_BATCH_MAIN") != str(os.getpid()):
            os._exit(3)
        return super().read()


def test_a_report_that_kills_its_worker_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCXREPORT_BATCH_MAIN", str(os.getpid()))
    files = [write(tmp_path / f"{i}.json", report(f"第{i}局")) for i in range(8)]
    inputs = [CrashingInput(str(f)) if i == 3 else Input(str(f)) for i, f in enumerate(files)]
    jobs, _ = plan(inputs, tmp_path)
    outcomes = sorted(run(jobs, tmp_path, workers=2), key=lambda o: o.index)
    assert [o.status for o in outcomes] == ["ok"] * 3 + ["failed"] + ["ok"] * 4
    assert "工作进程意外退出" in (outcomes[3].error or "")


def test_manifest_lists_every_input_in_order(tmp_path: Path) -> None:
    good = write(tmp_path / "a.json", report("甲局"))
    bad = write(tmp_path / "b.json", INVALID)
    inputs, failed = collect([str(good), str(bad), str(tmp_path / "gone.json")])
    jobs, skipped = plan(inputs, tmp_path)
    content = batch.write_manifest(tmp_path / "m.json", [*failed, *skipped, *run(jobs, tmp_path, workers=0)], outdir=tmp_path)
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8")) == content
    assert content["counts"] == {"ok": 1, "skipped": 0, "failed": 2}
    rows = [(Path(r["input"]).name, r["output"], r["status"]) for r in content["reports"]]
    assert rows == [("a.json", "甲局-2024.docx", "ok"), ("b.json", None, "failed"), ("gone.json", None, "failed")]
    assert set(content["reports"][0]) == {"input", "line", "output", "pdf", "status", "problems", "error",
                                          "made_from", "output_sha256", "pdf_sha256"}


def test_library_never_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "a.json", report("甲局"))
    write(tmp_path / "b.json", INVALID)
    inputs, failed = collect([str(tmp_path)])
    jobs, skipped = plan(inputs, tmp_path / "out")
    (tmp_path / "out").mkdir()
    outcomes = list(run(jobs, tmp_path / "out", workers=0))
    batch.write_manifest(tmp_path / "out" / batch.MANIFEST, outcomes, outdir=tmp_path / "out")
    assert capsys.readouterr() == ("", "")


def test_chunks_spread_small_batches_over_workers() -> None:
    assert batch.chunk_size(1000, 2, pdf=False) == 25
    assert batch.chunk_size(10, 2, pdf=False) == 2
    assert batch.chunk_size(10, 2, pdf=True) == 5  # one office start per worker
    assert batch.chunk_size(1000, 2, pdf=True) == 12


# --------------------------------------------------------------------------- the command


def test_batch_command_end_to_end(tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path / "in" / f"{i}.json", report(f"第{i}局"))
    write(tmp_path / "in" / "bad.json", INVALID)
    write(tmp_path / "more.jsonl", report("第9局") + "\n" + "{oops\n")
    result = cli("in", "more.jsonl", "-o", "out", "-j", "2", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    err = result.stderr
    assert "失败：in/bad.json" in err.replace(os.sep, "/") and "[row_total]" in err and "失败：more.jsonl:2" in err
    assert "进度 9/9（100%）" in err  # not a terminal: plain progress lines
    assert "完成：7 份成功，0 份跳过，2 份失败" in err and "Traceback" not in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == {"ok": 7, "skipped": 0, "failed": 2}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([f"第{i}局-2024.docx" for i in (0, 1, 2, 3, 4, 5, 9)] + ["manifest.json"])

    again = cli("in", "more.jsonl", "-o", "out", "-j", "2", cwd=tmp_path)
    assert "完成：0 份成功，7 份跳过，2 份失败" in again.stderr
    forced = cli("in", "-o", "out", "--force", "-j", "1", cwd=tmp_path)
    assert "完成：6 份成功，0 份跳过，1 份失败" in forced.stderr


def test_batch_command_refuses_a_bad_template_once(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.json", report("甲局"))
    (tmp_path / "t.docx").write_bytes(b"not a zip")
    result = cli("in", "-o", "out", "--template", "t.docx", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("不是有效的 .docx") == 1
    assert not (tmp_path / "out" / "甲局-2024.docx").exists()


# --------------------------------------------------------------------------- stopping and failing to record


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _many(tmp_path: Path, count: int) -> Path:
    lines = "\n".join(report(f"第{i}局") for i in range(count))
    return write(tmp_path / "all.jsonl", lines + "\n")


def _start(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen([sys.executable, "-m", "docxreport", "batch", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")


def _wait_for(condition, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("pdf", [False, True], ids=["docx", "pdf"])
def test_kill_9_of_batch_leaves_no_process_or_temporary_folder(tmp_path: Path, pdf: bool) -> None:
    import shutil
    import signal

    if pdf and not (shutil.which("soffice") or shutil.which("libreoffice")):
        pytest.skip("LibreOffice is not installed")
    process = _start(tmp_path, str(_many(tmp_path, 300)), "-o", "out", "-j", "2", *(["--pdf"] if pdf else []))
    try:
        _wait_for(lambda: len(_descendants(process.pid)) >= 4)  # the tracker, the forkserver, two workers
        if pdf:
            _wait_for(lambda: any((tmp_path / "tmp").iterdir()))
        below = _descendants(process.pid)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
    _wait_for(lambda: not any(_running(p) for p in below), 20)
    _wait_for(lambda: not any((tmp_path / "tmp").iterdir()), 20)


def test_sigterm_writes_the_manifest_like_ctrl_c(tmp_path: Path) -> None:
    import signal

    process = _start(tmp_path, str(_many(tmp_path, 300)), "-o", "out", "-j", "2")
    _wait_for(lambda: len(list((tmp_path / "out").glob("*.docx"))) >= 3 if (tmp_path / "out").exists() else False)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "已中断：已完成的报告保留，manifest.json 记录到中断为止的结果" in err and "Traceback" not in err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    done = {r["output"] for r in manifest["reports"] if r["status"] == "ok"}
    assert done and done <= {p.name for p in (tmp_path / "out").glob("*.docx")}


def test_a_manifest_that_cannot_be_written_is_one_message_with_the_failures_listed(tmp_path: Path, monkeypatch) -> None:
    import errno

    from click.testing import CliRunner

    from docxreport import files
    from docxreport.cli import main

    good = write(tmp_path / "good.json", report("甲局"))
    bad = write(tmp_path / "bad.json", INVALID)

    def full_disk(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "设备上没有空间")

    monkeypatch.setattr(files, "_write_all", full_disk)  # this process writes only the manifest; workers render
    result = CliRunner().invoke(main, ["batch", str(good), str(bad), "-o", str(tmp_path / "out"), "-j", "1"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.output.splitlines()
    assert f"失败：{bad}：报告内容有 2 处错误" in lines
    assert any(line.startswith("完成：1 份成功，0 份跳过，1 份失败") and line.endswith("清单未能写出") for line in lines)
    assert lines[-1] == f"docxreport: 无法写入清单 {tmp_path / 'out' / 'manifest.json'}: 写入失败（设备上没有空间）；下次运行将重新生成全部报告"
    assert not (tmp_path / "out" / "manifest.json").exists()
