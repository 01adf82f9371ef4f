"""Backup and restore of a whole registry through the ports, whatever the adapters.

A backup is the metadata documents (scanned first) and then every blob (listed
after, so every blob a captured document names is there: blobs are
content-addressed and never change). :mod:`.model` is the format,
:mod:`.snapshot` writes one, :mod:`.restore` reads one back.
"""

from domain.backup.model import (
    FORMAT_VERSION,
    BackupHeader,
    BlobEntry,
    Manifest,
    Progress,
    decode_header,
    decode_manifest,
    format_of,
)
from domain.backup.restore import (
    BackupSource,
    RestoreResult,
    SourceBlob,
    SourceMetadata,
    restore,
)
from domain.backup.snapshot import BackupTarget, backup

__all__ = [
    "FORMAT_VERSION",
    "BackupHeader",
    "BackupSource",
    "BackupTarget",
    "BlobEntry",
    "Manifest",
    "Progress",
    "RestoreResult",
    "SourceBlob",
    "SourceMetadata",
    "backup",
    "decode_header",
    "decode_manifest",
    "format_of",
    "restore",
]
