"""A bounded, process-local cache of rendered documents keyed by source version.

DESIGN asks that metadata documents be rendered once per version of their
source. The cache never goes stale across replicas or worker processes: an
entry is used only when the caller's freshly read ``(key, version)`` matches
the one it was rendered from, and the store's versions only grow.

Per-version fragments (one npm manifest, one release's links) are kept per
package under :meth:`Snapshot.part_id`, which changes whenever the version
does, so a package with thousands of versions is re-assembled after a change
from cached fragments rather than rendered whole again; the set of fragments
is patched with the versions that changed, without a Python loop over all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

import msgspec

from domain.packages.index import Snapshot

__all__ = ["RenderCache"]

_DEFAULT_BYTES: Final = 64 * 1024 * 1024

Render = Callable[[str], bytes]
"""Renders one version's fragment."""


class _Parts:
    """Fragments of one package as one variant: version -> (part id, fragment)."""

    __slots__ = ("ids", "out", "size")

    def __init__(self, ids: dict[str, int | str], out: dict[str, msgspec.Raw], size: int) -> None:
        self.ids = ids
        self.out = out
        self.size = size


class RenderCache:
    """LRU of ``(key, variant) -> (version, bytes)`` bounded by total bytes.

    Args:
        max_bytes: rendered bytes kept at most; the least recently used go first.
    """

    def __init__(self, max_bytes: int = _DEFAULT_BYTES) -> None:
        self._max = max_bytes
        self._size = 0
        self._entries: OrderedDict[tuple[str, str], tuple[int, bytes | _Parts]] = OrderedDict()

    def get(self, key: str, variant: str, version: int) -> bytes | None:
        """The bytes rendered from ``key`` at ``version`` as ``variant``, if cached."""
        entry = self._entries.get((key, variant))
        if entry is None or entry[0] != version or not isinstance(entry[1], bytes):
            return None
        self._entries.move_to_end((key, variant))
        return entry[1]

    def put(self, key: str, variant: str, version: int, data: bytes) -> bytes:
        """Remember ``data`` (ignored when larger than a quarter of the cache); returns it."""
        self._store((key, variant), version, data)
        return data

    def parts(self, snap: Snapshot, variant: str, render: Render) -> dict[str, msgspec.Raw]:
        """Every version's fragment as ``variant``, in the package's version order.

        ``render(version)`` runs only for versions whose document changed since
        their fragment was cached; fragments of versions the snapshot no
        longer has are dropped. The fragments are ``msgspec.Raw``: msgspec
        embeds them as they are, and ``bytes.join`` takes them.
        """
        slot = (snap.key, "\0parts " + variant)
        ids = _ids(snap)
        entry = self._entries.get(slot)
        cached = entry[1] if entry is not None and isinstance(entry[1], _Parts) else None
        if cached is None:
            out = {version: msgspec.Raw(render(version)) for version in ids}
            size = sum(len(part) for part in out.values())
        else:
            out, size = dict(cached.out), cached.size
            for version in cached.ids.keys() - ids.keys():
                size -= len(out.pop(version))
            for version, _ in ids.items() - cached.ids.items():
                old = out.get(version)
                size -= 0 if old is None else len(old)
                data = render(version)
                out[version] = msgspec.Raw(data)
                size += len(data)
            if list(out) != list(ids):  # versions re-ordered: follow the snapshot
                out = {version: out[version] for version in ids}
        self._store(slot, 0, _Parts(ids, out, size))
        return out

    def part(self, snap: Snapshot, variant: str, version: str, render: Render) -> msgspec.Raw:
        """One version's fragment as ``variant`` (shared with :meth:`parts`)."""
        slot = (snap.key, "\0parts " + variant)
        ident = snap.part_id(version)
        entry = self._entries.get(slot)
        cached = entry[1] if entry is not None and isinstance(entry[1], _Parts) else None
        if cached is not None and cached.ids.get(version) == ident:
            self._entries.move_to_end(slot)
            return cached.out[version]
        data = render(version)
        part = msgspec.Raw(data)
        if cached is None:
            self._store(slot, 0, _Parts({version: ident}, {version: part}, len(data)))
        else:  # patched in place: the entry's size and the total move together
            old = cached.out.get(version)
            delta = len(data) - (0 if old is None else len(old))
            cached.ids[version], cached.out[version] = ident, part
            cached.size += delta
            self._size += delta
            self._entries.move_to_end(slot)
            self._evict()
        return part

    def _store(self, slot: tuple[str, str], version: int, data: bytes | _Parts) -> None:
        old = self._entries.pop(slot, None)
        if old is not None:
            self._size -= _size(old[1])
        size = _size(data)
        if size * 4 > self._max:
            return
        self._entries[slot] = (version, data)
        self._size += size
        self._evict()

    def _evict(self) -> None:
        while self._size > self._max and self._entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._size -= _size(dropped)

    def __len__(self) -> int:
        return len(self._entries)


def _size(data: bytes | _Parts) -> int:
    return len(data) if isinstance(data, bytes) else data.size


def _ids(snap: Snapshot) -> dict[str, int | str]:
    """Version -> part id, in version order (a copy: cached entries are patched in place)."""
    refs: Mapping[str, int | str] = snap.refs
    if len(refs) == len(snap.package.versions):
        return dict(refs)
    return {version: snap.part_id(version) for version in snap.package.versions}
