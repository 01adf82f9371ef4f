"""The CLI's pieces that need no server: progress lines, user names, htpasswd edits."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from entrypoints import progress as progress_module
from entrypoints.cli_user import check_user_name
from entrypoints.progress import PlainProgress, Silent, TerminalProgress, make_progress


def test_plain_lines_are_periodic(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    shown = PlainProgress(out, interval=5.0)
    shown.start("blobs", 1000, 1000 * 1024)
    for _ in range(1000):
        now[0] += 0.05  # 50 s in all
        shown.advance(1, 1024)
    shown.finish()
    lines = out.getvalue().splitlines()
    assert 9 <= len(lines) <= 11
    assert lines[0].startswith(("blobs: 100/1000, 100.0 KiB/1000.0 KiB, ", "blobs: 101/1000"))
    assert "ETA 45s" in lines[0]
    assert lines[-1].startswith("blobs: 1000/1000, 1000.0 KiB/1000.0 KiB")
    assert lines[-1].endswith("done in 50.0s")


def test_the_display_follows_stdout() -> None:
    assert isinstance(make_progress(json=True), Silent)
    assert isinstance(make_progress(json=False, stream=io.StringIO()), PlainProgress)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    shown = make_progress(json=False, stream=Tty())
    assert isinstance(shown, TerminalProgress)
    shown.start("blobs", 2, 10)
    shown.advance(1, 5)
    shown.advance(1, 5)
    shown.finish()


@given(st.text(min_size=1, max_size=80))
def test_user_names_are_checked(name: str) -> None:
    try:
        checked = check_user_name(name)
    except InvalidInput:
        return
    assert checked == name
    assert ":" not in name
    assert all(ord(c) > 32 and ord(c) != 127 for c in name)
    assert len(name) <= 64


def test_user_add_keeps_other_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.cli import main

    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("# managed by hand\nold:$2y$10$abcdefghijklmnopqrstuv\n")
    htpasswd.chmod(0o644)
    monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
    assert main(["user", "add", "new", "--file", str(htpasswd)]) == 0
    text = htpasswd.read_text().splitlines()
    assert text[:2] == ["# managed by hand", "old:$2y$10$abcdefghijklmnopqrstuv"]
    assert text[2].startswith("new:$2y$")
    assert stat.S_IMODE(htpasswd.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["htpasswd"]  # no lock, no temp file


def test_user_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.cli import main

    htpasswd = str(tmp_path / "htpasswd")
    monkeypatch.setattr("sys.stdin", io.StringIO("pw\n"))
    assert main(["user", "add", "zoe", "--file", htpasswd, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "action": "add", "user": "zoe"}
    assert main(["user", "list", "--file", htpasswd, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["zoe"]
    assert main(["user", "list", "--file", htpasswd]) == 0
    assert capsys.readouterr().out == "zoe\n"
    assert main(["user", "remove", "zoe", "--file", htpasswd]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--file", htpasswd]) == 0
    assert capsys.readouterr().out == ""
