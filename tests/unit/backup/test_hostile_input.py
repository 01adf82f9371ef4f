"""Readers of backups face hostile files: they return a checked value or a domain error.

Archive members are never extracted to the file system: keys are checked and
bytes go into the stores, so a ``../x`` or ``/etc/passwd`` member is refused.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import anyio
import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.backup_archive import ArchiveSource, open_target
from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.backup import backup, decode_header, decode_manifest, restore
from domain.backup.model import decode_record
from domain.errors import NoraError
from tests.unit.backup.support import filled

CLOCK = FixedClock()
HEADER = {
    "format": 1,
    "id": "0" * 32,
    "nora_version": "t",
    "started": "2026-01-01T00:00:00Z",
    "documents": 0,
    "blobs": 1,
    "blob_bytes": 3,
}


def _outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except NoraError:
        return None


@given(st.binary(max_size=2000))
def test_decoders_take_any_bytes(data: bytes) -> None:
    for decoder in (decode_manifest, decode_header, decode_record):
        _outcome(decoder, data)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.fixed_dictionaries(
        {
            "blobs": st.dictionaries(
                st.sampled_from(
                    ["../x", "/etc/passwd", "a//b", "blobs/sha256/00/zz", "ok", "\x00"]
                ),
                st.fixed_dictionaries({"size": st.integers(), "sha256": st.text(max_size=70)}),
                max_size=3,
            ),
            "documents": st.integers(),
            "metadata_file": st.sampled_from(
                ["../../etc/passwd", "metadata-" + "a" * 32 + ".jsonl"]
            ),
        },
        optional={"format": _json_values, "id": _json_values, "seconds": _json_values},
    )
)
def test_hostile_manifests_are_refused_or_checked(fields: dict[str, object]) -> None:
    base = {
        **HEADER,
        "finished": "2026-01-01T00:00:01Z",
        "seconds": 1.0,
        "formats": {},
        "metadata_sha256": "0" * 64,
        "metadata_bytes": 0,
        "copied_blobs": 0,
        "copied_bytes": 0,
    }
    manifest = _outcome(decode_manifest, msgspec.json.encode({**base, **fields}))
    if manifest is not None:
        for key, entry in manifest.blobs.items():
            assert not key.startswith("/")
            assert ".." not in key.split("/")
            assert entry.size >= 0
        assert manifest.metadata_file.startswith("metadata-")


def _member(name: str, data: bytes, **attrs: object) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for attr, value in attrs.items():
        setattr(info, attr, value)
    return info, data


def _archive(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out.getvalue()


_hostile_members = st.sampled_from(
    [
        ("blob/../x", b"abc", {}),
        ("blob//etc/passwd", b"abc", {}),
        ("/etc/passwd", b"abc", {}),
        ("../x", b"abc", {}),
        ("blob/blobs/sha256/aa/" + "a" * 64, b"abc", {}),
        ("blob/ok", b"abc", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}),
        ("blob/ok", b"abc", {"type": tarfile.LNKTYPE, "linkname": "../../x"}),
        ("blob/dev", b"", {"type": tarfile.CHRTYPE}),
        ("metadata.jsonl", b'["../x","YQ=="]\n', {}),
        ("metadata.jsonl", b'["pkg/npm/a","YQ=="]\n["partial', {}),
        ("manifest.json", b'{"format":1}', {}),
        ("header.json", msgspec.json.encode(HEADER), {}),
    ]
)


def _restore_bytes(tmp: Path, data: bytes, name: str = "b.tar") -> None:
    """Restore one (hostile) archive one blob at a time and with writes overlapping
    (``--jobs``, the command's default): a domain error or a result, nothing else."""
    path = tmp / name
    path.write_bytes(data)
    before = set(os.listdir(tmp))

    async def run(jobs: int) -> None:
        meta, blobs = MemoryMetadataStore(), MemoryBlobStore()
        try:
            await restore(ArchiveSource(path), meta, blobs, clock=CLOCK, jobs=jobs)
        except NoraError:
            return
        for key in list(blobs.backend.blobs):
            assert not key.startswith(("/", "..")), key

    anyio.run(run, 1)
    anyio.run(run, 4)
    assert set(os.listdir(tmp)) == before  # nothing extracted beside the archive


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_hostile_members, max_size=4), st.booleans())
def test_hostile_archives_only_raise_domain_errors(
    tmp_path: Path, picks: list[tuple[str, bytes, dict[str, object]]], with_header: bool
) -> None:
    members = [_member("header.json", msgspec.json.encode(HEADER))] if with_header else []
    members += [_member(name, data, **attrs) for name, data, attrs in picks]
    _restore_bytes(tmp_path, _archive(members))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4000))
def test_random_bytes_are_not_an_archive(tmp_path: Path, data: bytes) -> None:
    _restore_bytes(tmp_path, data)
    _restore_bytes(tmp_path, data, "b.tar.zst")


def test_truncated_and_mangled_archives(tmp_path: Path) -> None:
    async def make() -> bytes:
        meta, blobs, _ = await filled(blob_count=3)
        await backup(meta, blobs, open_target(tmp_path / "good.tar"), clock=CLOCK, nora_version="t")
        return (tmp_path / "good.tar").read_bytes()

    good = anyio.run(make)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for cut in range(0, len(good), max(1, len(good) // 60)):
        _restore_bytes(scratch, good[:cut])
    absurd = bytearray(good)
    absurd[124:136] = b"77777777777\0"  # the header member claims 8 GiB
    _restore_bytes(scratch, bytes(absurd))


def test_absurd_member_sizes(tmp_path: Path) -> None:
    header = _archive([_member("header.json", msgspec.json.encode(HEADER))])[: 3 * 512]
    huge = tarfile.TarInfo("blob/blobs/sha256/aa/" + "a" * 64)
    huge.size = 1 << 40
    _restore_bytes(tmp_path, header + huge.tobuf(tarfile.PAX_FORMAT) + b"abc")
    big_manifest = tarfile.TarInfo("manifest.json")
    big_manifest.size = 1 << 33
    _restore_bytes(tmp_path, header + big_manifest.tobuf(tarfile.PAX_FORMAT) + b"{}")
