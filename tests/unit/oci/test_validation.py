"""What a manifest may claim: sizes and digests that match what the repository stores, no
content of another repository, sane numbers, bounded nesting; and a catalog filtered by
what the caller may read, its pages still full."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.codecs.json import MAX_DEPTH
from domain.digests import Digest, hash_bytes
from domain.errors import InvalidInput, NoraError, NotFound
from domain.keys import blob_key
from domain.oci import ManifestService
from domain.oci.manifests import MAX_DESCRIPTOR_SIZE, ParsedManifest, parse_manifest
from domain.oci.media import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from domain.oci.proxy import OciProxy
from domain.uploads import StoredBlob, UploadSessions
from tests.unit.fakes import FakeUpstream
from tests.unit.oci.test_proxy import UP, make_proxy

CONFIG = b"{}"
LAYER = b"layer bytes"
FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


class Registry:
    def __init__(self) -> None:
        self.blobs = MemoryBlobStore()
        self.meta = MemoryMetadataStore()
        self.uploads = UploadSessions(self.blobs, self.meta, FixedClock())
        self.oci = ManifestService(self.blobs, self.meta)

    async def stored(self, data: bytes) -> StoredBlob:
        """Bytes stored but linked to no repository (as another format stores them)."""
        return await self.uploads.store(_once(data), hash_bytes(data))

    async def blob(self, name: str, data: bytes) -> Digest:
        stored = await self.stored(data)
        await self.oci.link_blob(name, stored, stored.sha256)
        return stored.sha256

    async def put(self, name: str, tag: str, doc: dict[str, Any]) -> ParsedManifest:
        return await self.oci.put_manifest(name, tag, json.dumps(doc).encode(), None)

    async def nothing_tagged(self, name: str, tag: str) -> bool:
        try:
            await self.oci.resolve(name, tag)
        except NotFound:
            return True
        return False


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def descriptor(
    data: bytes, media_type: str = "application/vnd.oci.image.layer.v1.tar", **extra: Any
) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": str(hash_bytes(data)), "size": len(data), **extra}


def image_doc(
    config: dict[str, Any] | None = None, *layers: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config or descriptor(CONFIG, "application/vnd.oci.image.config.v1+json"),
        "layers": list(layers) if layers else [descriptor(LAYER)],
        **extra,
    }


@pytest.fixture
def reg() -> Registry:
    return Registry()


# --- sizes and digests against what is stored ----------------------------------------


@pytest.mark.anyio
async def test_descriptor_sizes_must_match_the_stored_blobs(reg: Registry) -> None:
    await reg.blob("img", CONFIG)
    await reg.blob("img", LAYER)
    for wrong in (len(LAYER) + 1, len(LAYER) - 1, 0, MAX_DESCRIPTOR_SIZE):
        doc = image_doc(None, descriptor(LAYER, size=wrong))
        with pytest.raises(InvalidInput) as caught:
            await reg.put("img", "v1", doc)
        assert caught.value.subject == "manifest"
    config = descriptor(CONFIG, "application/vnd.oci.image.config.v1+json", size=3)
    with pytest.raises(InvalidInput) as caught:
        await reg.put("img", "v1", image_doc(config))
    assert caught.value.subject == "manifest"
    assert await reg.nothing_tagged("img", "v1")
    assert (await reg.meta.scan("oci/repo/img/~manifests/")).items == []
    await reg.put("img", "v1", image_doc())  # the true sizes are accepted


@pytest.mark.anyio
async def test_a_blob_of_another_repository_is_unknown_and_stays_unlinked(reg: Registry) -> None:
    await reg.blob("img", CONFIG)
    secret = await reg.blob("secret/repo", b"secret layer")
    other_format = (await reg.stored(b"an npm tarball")).sha256
    for digest, data in ((secret, b"secret layer"), (other_format, b"an npm tarball")):
        doc = image_doc(None, descriptor(data))
        with pytest.raises(InvalidInput) as caught:
            await reg.put("img", "v1", doc)
        assert caught.value.subject == "manifest_blob"
        with pytest.raises(NotFound) as missing:
            await reg.oci.stat_blob("img", digest)
        assert missing.value.subject == "blob"
    assert await reg.nothing_tagged("img", "v1")


@pytest.mark.anyio
async def test_a_linked_blob_whose_bytes_are_gone_is_unknown(reg: Registry) -> None:
    await reg.blob("img", CONFIG)
    digest = await reg.blob("img", LAYER)
    await reg.blobs.delete(blob_key(digest))
    with pytest.raises(InvalidInput) as caught:
        await reg.put("img", "v1", image_doc())
    assert caught.value.subject == "manifest_blob"


@pytest.mark.anyio
async def test_index_children_must_be_in_the_repository_with_their_size(reg: Registry) -> None:
    await reg.blob("img", CONFIG)
    await reg.blob("img", LAYER)
    child = await reg.put("img", "amd64", image_doc())
    entry = {"mediaType": OCI_MANIFEST, "digest": str(child.digest), "size": child.size}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    for size in (child.size + 1, 2**63):
        wrong = {**index, "manifests": [{**entry, "size": size}]}
        with pytest.raises(InvalidInput) as caught:
            await reg.put("img", "multi", wrong)
        assert caught.value.subject == "manifest"
    with pytest.raises(InvalidInput) as caught:
        await reg.put("other", "multi", index)  # the child lives in "img" only
    assert caught.value.subject == "manifest_child"
    assert await reg.nothing_tagged("img", "multi")
    assert not await reg.oci.exists("other")
    await reg.put("img", "multi", index)


@pytest.mark.anyio
async def test_foreign_layers_need_urls_to_be_skipped(reg: Registry) -> None:
    await reg.blob("img", CONFIG)
    await reg.blob("img", LAYER)
    foreign = descriptor(b"windows base", FOREIGN, urls=["https://mirror.invalid/base.tgz"])
    parsed = await reg.put("img", "win", image_doc(None, descriptor(LAYER), foreign))
    assert [str(b.digest) for b in parsed.blobs] == [
        str(hash_bytes(CONFIG)),
        str(hash_bytes(LAYER)),
    ]
    without_urls = descriptor(b"windows base", FOREIGN)
    with pytest.raises(InvalidInput) as caught:
        await reg.put("img", "win2", image_doc(None, without_urls))
    assert caught.value.subject == "manifest_blob"
    for url in (
        "ftp://mirror.invalid/x",
        "https://mirror.invalid/x#frag",
        "file:///etc/passwd",
        "",
    ):
        bad = descriptor(b"windows base", FOREIGN, urls=[url])
        with pytest.raises(InvalidInput) as caught:
            await reg.put("img", "win3", image_doc(None, bad))
        assert caught.value.subject == "manifest"


# --- the parser: numbers, digests, depth ---------------------------------------------


def _parse(doc: dict[str, Any]) -> ParsedManifest:
    return parse_manifest(json.dumps(doc).encode(), None)


@pytest.mark.parametrize("size", [-1, 2**53, 2**63, 2**63 - 1 + 2**62, 10**40, -(2**64)])
@pytest.mark.parametrize("where", ["config", "layer", "subject", "child"])
def test_absurd_sizes_are_manifest_invalid(size: int, where: str) -> None:
    doc: dict[str, Any]
    if where == "config":
        doc = image_doc(descriptor(CONFIG, "a/b", size=size))
    elif where == "layer":
        doc = image_doc(None, descriptor(LAYER, FOREIGN, size=size, urls=["https://x.invalid/l"]))
    elif where == "subject":
        doc = image_doc(subject=descriptor(b"s", OCI_MANIFEST, size=size))
    else:
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor(b"c", OCI_MANIFEST, size=size)],
        }
    with pytest.raises(InvalidInput) as caught:
        _parse(doc)
    assert caught.value.subject == "manifest"


def test_the_largest_plausible_size_parses() -> None:
    doc = image_doc(None, descriptor(LAYER, size=MAX_DESCRIPTOR_SIZE))
    assert _parse(doc).blobs[1].size == MAX_DESCRIPTOR_SIZE


@pytest.mark.parametrize(
    "digest",
    ["sha256:" + "A" * 64, "sha256:" + "1" * 63, "md5:" + "1" * 32, "sha256", "", "sha256:../x"],
)
def test_bad_descriptor_digests_are_manifest_invalid(digest: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _parse(image_doc(None, {**descriptor(LAYER), "digest": digest}))
    assert caught.value.subject == "manifest"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
@pytest.mark.parametrize("where", ["top", "platform", "unknown", "annotations"])
def test_deep_nesting_is_manifest_invalid_not_a_crash(depth: int, where: str) -> None:
    nest = _nested(depth)
    if where == "top":
        body = nest
    elif where == "platform":
        entry = json.dumps(descriptor(b"c", OCI_MANIFEST))[:-1] + f',"platform":{{"os":{nest}}}}}'
        body = f'{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{entry}]}}'
    elif where == "unknown":
        body = json.dumps(image_doc())[:-1] + f',"x":{nest}}}'
    else:
        body = json.dumps(image_doc())[:-1] + f',"annotations":{{"k":{nest}}}}}'
    with pytest.raises(InvalidInput) as caught:
        parse_manifest(body.encode(), None)
    assert caught.value.subject == "manifest"


def test_nesting_inside_strings_is_only_text() -> None:
    doc = image_doc(annotations={"k": "[" * 5000})
    assert _parse(doc).annotations == {"k": "[" * 5000}


# --- hypothesis: hostile manifests give a value or a domain error ---------------------

_sizes = st.one_of(
    st.integers(),
    st.sampled_from([-1, 0, 2**53 - 1, 2**53, 2**63 - 1, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.none(),
)
_digests = st.one_of(
    st.sampled_from([str(hash_bytes(CONFIG)), str(hash_bytes(LAYER)), "sha512:" + "a" * 128]),
    st.text(max_size=80),
    st.integers(),
)
_media_types = st.sampled_from(
    [
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.config.v1+json",
        FOREIGN,
        OCI_MANIFEST,
        "bad type",
        "",
    ]
)
_urls = st.one_of(
    st.none(),
    st.lists(
        st.sampled_from(["https://a.invalid/x", "ftp://b", "http://c#d"]) | st.text(max_size=20),
        max_size=3,
    ),
)
_descriptors = st.fixed_dictionaries(
    {"mediaType": _media_types, "digest": _digests, "size": _sizes},
    optional={"urls": _urls, "platform": st.dictionaries(st.text(max_size=5), st.text(max_size=5))},
)


@st.composite
def hostile_manifests(draw: st.DrawFn) -> bytes:
    kind = draw(
        st.sampled_from([OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_MANIFEST_LIST, None])
    )
    doc: dict[str, Any] = {"schemaVersion": draw(st.sampled_from([2, 2, 1, 3, "2"]))}
    if kind is not None:
        doc["mediaType"] = kind
    if kind in (OCI_INDEX, DOCKER_MANIFEST_LIST) or (kind is None and draw(st.booleans())):
        doc["manifests"] = draw(st.lists(_descriptors, max_size=3))
    else:
        doc["config"] = draw(_descriptors)
        doc["layers"] = draw(st.lists(_descriptors, max_size=3))
    if draw(st.booleans()):
        doc["subject"] = draw(_descriptors)
    body = json.dumps(doc)
    depth = draw(st.sampled_from([0, 0, 10, MAX_DEPTH - 2, MAX_DEPTH + 1, 1000, 5000]))
    if depth:
        body = (
            body[:-1]
            + f',"{draw(st.sampled_from(["x", "annotations", "config"]))}":{_nested(depth)}}}'
        )
    return body.encode()


@settings(deadline=None, max_examples=300)
@given(hostile_manifests())
def test_hostile_manifests_parse_or_raise_a_domain_error(body: bytes) -> None:
    try:
        parsed = parse_manifest(body, None)
    except NoraError:
        return
    for referenced in (*parsed.blobs, *parsed.children):
        assert 0 <= referenced.size <= MAX_DESCRIPTOR_SIZE
        assert referenced.digest.algorithm in ("sha256", "sha512")


@settings(deadline=None, max_examples=150)
@given(hostile_manifests())
def test_hostile_manifest_puts_store_or_raise_a_domain_error(body: bytes) -> None:
    async def attempt() -> None:
        reg = Registry()
        await reg.blob("img", CONFIG)
        await reg.blob("img", LAYER)
        before = {doc.key for doc in (await reg.meta.scan("oci/")).items}
        try:
            parsed = await reg.oci.put_manifest("img", "t", body, None)
        except NoraError:
            after = {doc.key for doc in (await reg.meta.scan("oci/")).items}
            assert after == before  # nothing half-stored
            return
        for referenced in parsed.blobs:  # what it refers to is stored, with that size
            assert (await reg.oci.stat_blob("img", referenced.digest)).size == referenced.size

    anyio.run(attempt)


# --- the catalog, filtered and paginated ---------------------------------------------


@pytest.mark.anyio
async def test_catalog_lists_only_visible_names_in_full_pages(reg: Registry) -> None:
    names = [f"{team}/r{i:02d}" for i in range(12) for team in ("other", "team")]
    for name in names:
        await reg.blob(name, CONFIG)
    visible = sorted(name for name in names if name.startswith("team/"))

    def readable(name: str) -> bool:
        return name.startswith("team/")

    assert (await reg.oci.catalog(visible=readable)).items == visible
    for n in (1, 2, 5, 11, 12, 13):
        seen: list[str] = []
        last: str | None = None
        while True:
            page = await reg.oci.catalog(n, last, readable)
            if page.more:
                assert len(page.items) == n  # never a short page before the end
            seen += page.items
            if not page.more:
                break
            last = page.items[-1]
        assert seen == visible
    none = await reg.oci.catalog(5, None, lambda name: False)
    assert (none.items, none.more) == ([], False)
    after_hidden = await reg.oci.catalog(3, "other/r05", readable)
    assert after_hidden.items == [v for v in visible if v > "other/r05"][:3]


# --- the pull-through cache is per name -----------------------------------------------


class MethodUpstream(FakeUpstream):
    """Records ``METHOD url`` so a HEAD can be told from a download."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def fetch(self, url: str, headers: Any = None, *, method: str = "GET") -> Any:
        self.calls.append(f"{method} {url}")
        return super().fetch(url, headers, method=method)


async def _drain(proxy: OciProxy, name: str, digest: Digest) -> bytes:
    blob = await proxy.blob(name, digest)
    if blob.stream is not None:
        return b"".join([chunk async for chunk in blob.stream])
    assert blob.key is not None
    reader = await proxy.open_cached(blob.key)
    return b"".join([chunk async for chunk in reader])


@pytest.mark.anyio
async def test_a_cached_blob_serves_another_name_only_when_its_upstream_has_it() -> None:
    upstream = MethodUpstream()
    proxy = make_proxy(upstream)
    data = b"private layer"
    digest = hash_bytes(data)
    upstream.serve(f"{UP}/v2/private/app/blobs/{digest}", data)
    assert await _drain(proxy, "private/app", digest) == data
    with pytest.raises(NotFound):
        await proxy.blob("lib/other", digest)  # the upstream does not have it there
    with pytest.raises(NotFound):
        await proxy.blob_size("lib/other", digest)
    upstream.serve(f"{UP}/v2/lib/shared/blobs/{digest}", data)
    upstream.calls.clear()
    blob = await proxy.blob("lib/shared", digest)
    assert blob.key is not None  # adopted from the bytes already here ...
    assert upstream.calls == [f"HEAD {UP}/v2/lib/shared/blobs/{digest}"]  # ... after one HEAD
    assert await _drain(proxy, "lib/shared", digest) == data
