"""MkDocs hooks: pages taken from the repository's own markdown, so there is one copy.

``architecture.md`` is ARCHITECTURE.md; ``settings.md`` and ``clients.md`` are the
README's "Configuration" and "Formats" sections. Links from those files to places
outside the site (``bench/README.md``, source files) become code text, since the
site cannot link into the checkout.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?://|#|mailto:)([^)]+)\)")


def _section(text: str, heading: str) -> str:
    """The README section under ``## heading``, up to the next ``## `` heading."""
    start = text.index(f"\n## {heading}\n") + 1
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else len(text)]
    return "#" + body.removeprefix("##")  # its own page: a top-level title


def _local(markdown: str) -> str:
    return _LINK.sub(lambda m: f"{m.group(1)} (`{m.group(2)}`)", markdown)


def on_files(files: Files, config: Any) -> Files:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = {
        "architecture.md": (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8"),
        "settings.md": _section(readme, "Configuration"),
        "clients.md": _section(readme, "Formats"),
    }
    for name, content in pages.items():
        files.append(File.generated(config, name, content=_local(content)))
    return files
