"""The storage adapters an embedder may pass to :func:`nora.open_registry`.

Imported on first use, so choosing the filesystem and SQLite never loads the
S3 or PostgreSQL drivers (which need ``pip install 'nora[s3]'`` style extras).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # type checkers see the classes; at run time they load on first use
    from adapters.blobstore.filesystem import FilesystemBlobStore
    from adapters.blobstore.memory import MemoryBlobStore
    from adapters.blobstore.s3 import S3BlobStore
    from adapters.metadata.memory import MemoryMetadataStore
    from adapters.metadata.postgres import PostgresMetadataStore
    from adapters.metadata.sqlite import SqliteMetadataStore

__all__ = [
    "FilesystemBlobStore",
    "MemoryBlobStore",
    "MemoryMetadataStore",
    "PostgresMetadataStore",
    "S3BlobStore",
    "SqliteMetadataStore",
]

_WHERE: Final = {
    "FilesystemBlobStore": "adapters.blobstore.filesystem",
    "MemoryBlobStore": "adapters.blobstore.memory",
    "S3BlobStore": "adapters.blobstore.s3",
    "MemoryMetadataStore": "adapters.metadata.memory",
    "SqliteMetadataStore": "adapters.metadata.sqlite",
    "PostgresMetadataStore": "adapters.metadata.postgres",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
