"""README.md stays true: its embedding example runs, its table lists every setting."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from entrypoints.config import env_name, flat_fields, registered_sections

README = Path(__file__).resolve().parents[2] / "README.md"


def test_embedding_example_runs(tmp_path: Path) -> None:
    text = README.read_text()
    match = re.search(r"<!-- example: embedding -->\s*```python\n(.*?)```", text, re.S)
    assert match is not None
    script = tmp_path / "example.py"
    script.write_text(match.group(1))
    root = str(README.parent)
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "example-data")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"[0-9a-f]{64} 15", lines[0])
    assert lines[1].startswith("refused: content hashes to sha256:")
    assert lines[2] == "b'hello, registry'"
    assert (tmp_path / "example-data" / "nora.db").exists()


def test_configuration_table_lists_every_setting() -> None:
    text = README.read_text()
    for field in flat_fields(registered_sections()):
        assert f"| `{env_name(field)}` |" in text, field
