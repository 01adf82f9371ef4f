"""``nora.go`` over every pair of adapters."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nora import Nora
from nora.errors import Conflict, InvalidInput, NotFound

pytestmark = pytest.mark.anyio


def _tree(root: Path, module: str, files: dict[str, str] | None = None, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module {module}\n\ngo 1.21\n{extra}")
    for name, text in (files or {"lib.go": "package lib\n"}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _zip(prefix: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(prefix + name, text)
    return buffer.getvalue()


def _h1(archive: bytes) -> str:
    """The go command's dirhash of a module zip, written out independently."""
    summary = hashlib.sha256()
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in sorted(opened.namelist()):
            summary.update(f"{hashlib.sha256(opened.read(name)).hexdigest()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode()


async def _chunks(data: bytes, size: int = 400) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


async def test_a_source_tree_publishes_as_the_module_its_go_mod_declares(
    nora: Nora, tmp_path: Path
) -> None:
    files = {
        "lib.go": 'package lib\n\nfunc Hello() string { return "hi" }\n',
        "sub/sub.go": "package sub\n",
        ".git/config": "[core]\n",
        "nested/go.mod": "module example.com/lib/nested\n",
        "nested/n.go": "package nested\n",
    }
    root = _tree(tmp_path / "lib", "example.com/lib", files)
    published = await nora.go.publish(root, "v1.0.0")
    assert (published.module, published.version) == ("example.com/lib", "v1.0.0")
    archive = await nora.go.download("example.com/lib", "v1.0.0")
    assert published.zip_sha256 == hashlib.sha256(archive).hexdigest()
    assert published.zip_size == len(archive)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert sorted(opened.namelist()) == [
            "example.com/lib@v1.0.0/go.mod",
            "example.com/lib@v1.0.0/lib.go",
            "example.com/lib@v1.0.0/sub/sub.go",
        ]
    gomod = await nora.go.go_mod("example.com/lib", "v1.0.0")
    assert gomod == (root / "go.mod").read_bytes()
    assert published.go_mod_sha256 == hashlib.sha256(gomod).hexdigest()
    streamed = b"".join([c async for c in nora.go.stream("example.com/lib", "v1.0.0")])
    assert streamed == archive
    sums = await nora.go.sums("example.com/lib", "v1.0.0")
    assert sums.h1 == _h1(archive)
    summary = hashlib.sha256(f"{hashlib.sha256(gomod).hexdigest()}  go.mod\n".encode())
    assert sums.go_mod_h1 == "h1:" + base64.b64encode(summary.digest()).decode()
    assert [m.path for m in await nora.go.modules()] == ["example.com/lib"]


async def test_zips_publish_from_bytes_and_chunks_in_semver_order(nora: Nora) -> None:
    module = "example.com/Team/Zipped"
    for version in ("v1.10.0", "v1.9.0", "v2.0.0-rc.1+incompatible"):
        prefix = f"{module}@{version}/"
        data = _zip(prefix, {"z.go": f"package z // {version}\n"})
        source = data if version != "v1.9.0" else _chunks(data)
        info = await nora.go.publish_zip(module, version, source)
        assert info.zip_sha256 == hashlib.sha256(data).hexdigest()
    versions = await nora.go.versions(module)
    assert [v.version for v in versions] == ["v1.9.0", "v1.10.0", "v2.0.0-rc.1+incompatible"]
    assert await nora.go.latest(module) == "v1.10.0"
    assert await nora.go.go_mod(module, "v1.9.0") == f"module {module}\n".encode()


async def test_retracted_versions_are_marked_and_skipped_by_latest(
    nora: Nora, tmp_path: Path
) -> None:
    await nora.go.publish(_tree(tmp_path / "a", "example.com/r"), "v1.0.0")
    newer = _tree(tmp_path / "b", "example.com/r", extra="\nretract v1.0.0 // broken\n")
    await nora.go.publish(newer, "v1.1.0")
    assert [(v.version, v.retracted) for v in await nora.go.versions("example.com/r")] == [
        ("v1.0.0", True),
        ("v1.1.0", False),
    ]
    assert (await nora.go.version("example.com/r", "v1.0.0")).retracted
    assert await nora.go.latest("example.com/r") == "v1.1.0"


async def test_a_version_is_published_once(nora: Nora, tmp_path: Path) -> None:
    root = _tree(tmp_path / "m", "example.com/once")
    await nora.go.publish(root, "v1.0.0")
    (root / "lib.go").write_text("package lib // changed\n")
    with pytest.raises(Conflict):
        await nora.go.publish(root, "v1.0.0")
    assert len(await nora.go.versions("example.com/once")) == 1


async def test_a_module_the_go_command_would_refuse_stores_nothing(
    nora: Nora, tmp_path: Path
) -> None:
    root = _tree(tmp_path / "m", "example.com/m")
    for version, module in (
        ("1.0.0", None),
        ("v1", None),
        ("v1.0.0", "example.com/other"),
        ("v2.0.0", None),  # a v2 needs a /v2 module path
        ("v1.0.0", "Example.com/m"),
    ):
        with pytest.raises(InvalidInput):
            await nora.go.publish(root, version, module=module)
    with pytest.raises(InvalidInput):
        await nora.go.publish(tmp_path / "nothing-here", "v1.0.0")
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(InvalidInput):
        await nora.go.publish(bare, "v1.0.0")  # no go.mod and no module named
    refused = _tree(tmp_path / "bad", "example.com/bad", {"bad:name.go": "package bad\n"})
    with pytest.raises(InvalidInput):
        await nora.go.publish(refused, "v1.0.0")
    with pytest.raises(InvalidInput):
        await nora.go.publish_zip("example.com/z", "v1.0.0", _zip("elsewhere/", {"a.go": "x"}))
    with pytest.raises(InvalidInput):
        await nora.go.publish_zip("example.com/z", "v1.0.0", b"not a zip")
    with pytest.raises(InvalidInput):  # go.mod names another module
        await nora.go.publish_zip(
            "example.com/z", "v1.0.0", _zip("example.com/z@v1.0.0/", {"go.mod": "module x.org/y\n"})
        )
    assert await nora.go.modules() == []


async def test_unknown_modules_and_versions_are_not_found(nora: Nora, tmp_path: Path) -> None:
    await nora.go.publish(_tree(tmp_path / "m", "example.com/known"), "v1.0.0")
    with pytest.raises(NotFound):
        await nora.go.versions("example.com/unknown")
    with pytest.raises(NotFound):
        await nora.go.version("example.com/known", "v2.0.0")
    with pytest.raises(NotFound):
        await nora.go.download("example.com/known", "v1.0.1")
    with pytest.raises(NotFound):
        await nora.go.sums("example.com/known", "v1.0.1")
