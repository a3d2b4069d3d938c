"""docxreport/pdf/fonts.py: the fontconfig environment LibreOffice gets, checked with fc-match."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from docxreport.pdf import fonts

pytestmark = pytest.mark.skipif(shutil.which("fc-match") is None or not fonts.uses_fontconfig(), reason="needs fontconfig")

# official face → the stand-in expected with the Debian packages CI installs
STAND_INS = {
    "方正小标宋简体": "Noto Serif CJK SC", "仿宋_GB2312": "AR PL UMing CN", "仿宋": "AR PL UMing CN",
    "楷体_GB2312": "AR PL UKai CN", "楷体": "AR PL UKai CN", "黑体": "Noto Sans CJK SC", "宋体": "Noto Serif CJK SC",
    "Times New Roman": "Liberation Serif",
}


def _match(family: str, env: dict[str, str]) -> str:
    return subprocess.run(["fc-match", f"{family}:lang=zh-cn", "family"], env=env, check=True, capture_output=True, text=True).stdout.strip()


def _installed(family: str) -> bool:
    return family in subprocess.run(["fc-list", ":", "family"], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("official", list(STAND_INS))
def test_each_official_face_gets_its_stand_in(official: str) -> None:
    expected = STAND_INS[official]
    if official.startswith("仿宋") and _installed("FandolFang"):
        expected = "FandolFang"
    if _installed(official):
        expected = official  # an installed official font wins
    if not _installed(expected):
        pytest.skip(f"{expected} not installed")
    assert _match(official, fonts.office_environment({"PATH": "/usr/bin:/bin"})).split(",")[0] == expected


def test_installed_fonts_are_not_replaced() -> None:
    env = fonts.office_environment({"PATH": "/usr/bin:/bin"})
    for family in ("AR PL UKai CN", "Noto Sans CJK SC", "Liberation Serif"):
        if _installed(family):
            assert _match(family, env).split(",")[0] == family


def test_the_environment_adds_only_fontconfig_file_and_keeps_the_rest() -> None:
    base = {"PATH": "/usr/bin", "HOME": "/nowhere", "LANG": "zh_CN.UTF-8"}
    env = fonts.office_environment(base)
    assert {k: v for k, v in env.items() if k != "FONTCONFIG_FILE"} == base
    assert Path(env["FONTCONFIG_FILE"]).is_file()
    assert base == {"PATH": "/usr/bin", "HOME": "/nowhere", "LANG": "zh_CN.UTF-8"}  # not modified


def test_a_configuration_the_caller_already_uses_is_included(tmp_path: Path) -> None:
    """With FONTCONFIG_FILE already set, the office gets a configuration that includes it and then the
    stand-ins: the caller's own aliases still apply."""
    own = tmp_path / "own.conf"
    own.write_text('<?xml version="1.0"?><fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
                   '<alias binding="strong"><family>OfficeBrandFace</family><prefer><family>AR PL UKai CN</family></prefer></alias></fontconfig>',
                   encoding="utf-8")
    if not _installed("AR PL UKai CN") or not _installed("Noto Sans CJK SC"):
        pytest.skip("needs fonts-arphic-ukai and fonts-noto-cjk")
    env = fonts.office_environment({"PATH": "/usr/bin:/bin", "FONTCONFIG_FILE": str(own)})
    assert env["FONTCONFIG_FILE"] != str(own)
    assert str(own) in Path(env["FONTCONFIG_FILE"]).read_text(encoding="utf-8")
    assert _match("OfficeBrandFace", env).split(",")[0] == "AR PL UKai CN"
    assert _match("黑体", env).split(",")[0] == "Noto Sans CJK SC"


def test_other_platforms_get_the_environment_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "uses_fontconfig", lambda platform="": False)
    assert fonts.office_environment({"PATH": "x"}) == {"PATH": "x"}
