"""Raw files at /raw/: any path, versions on overwrite, immutable prefixes, listings."""

from domain.raw.grammar import (
    content_type_of,
    expected_digests,
    parse_directory,
    parse_path,
    scope_name,
)
from domain.raw.registry import REPOSITORY, RawFile, RawRegistry, RawVersion

__all__ = [
    "REPOSITORY",
    "RawFile",
    "RawRegistry",
    "RawVersion",
    "content_type_of",
    "expected_digests",
    "parse_directory",
    "parse_path",
    "scope_name",
]
