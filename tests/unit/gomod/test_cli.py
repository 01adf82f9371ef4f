"""``nora go publish``'s file selection: what the go command puts in a module zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from domain.errors import InvalidInput
from entrypoints.cli_go import build_zip


def test_the_zip_holds_what_the_go_command_would_ship(tmp_path: Path) -> None:
    root = tmp_path / "src"
    files = {
        "go.mod": "module example.com/Team/Lib\n",
        "lib.go": "package lib\n",
        "sub/sub.go": "package sub\n",
        "sub/testdata/x.txt": "data\n",
        ".git/config": "[core]\n",
        "sub/.hg/store": "x\n",
        "nested/go.mod": "module example.com/Team/Lib/nested\n",
        "nested/n.go": "package nested\n",
        "vendor/modules.txt": "# vendored\n",
        "vendor/README": "kept, as the go command keeps it\n",
        "vendor/example.com/dep/dep.go": "package dep\n",
        "pkg/vendor/v.go": "package v\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "link.go").symlink_to(root / "lib.go")
    out = tmp_path / "m.zip"
    assert build_zip(root, "example.com/Team/Lib", "v1.0.0", out) == 6
    with zipfile.ZipFile(out) as archive:
        names = sorted(archive.namelist())
    prefix = "example.com/Team/Lib@v1.0.0/"
    assert names == [
        prefix + n
        for n in [
            "go.mod",
            "lib.go",
            "sub/sub.go",
            "sub/testdata/x.txt",
            "vendor/README",
            "vendor/modules.txt",
        ]
    ]


def test_a_file_name_the_go_command_refuses_stops_the_build(tmp_path: Path) -> None:
    root = tmp_path / "src"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/m\n")
    (root / "bad:name.go").write_text("package m\n")
    with pytest.raises(InvalidInput):
        build_zip(root, "example.com/m", "v1.0.0", tmp_path / "m.zip")
