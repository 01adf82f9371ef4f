"""The shared core of path-addressed formats (Maven, raw files): see :mod:`domain.paths.index`."""

from domain.paths.index import MAX_ATTEMPTS, PathIndex, valid_path
from domain.paths.model import DirEntry, DirPage, Listing, Overwrite, PathEntry, Revision

__all__ = [
    "MAX_ATTEMPTS",
    "DirEntry",
    "DirPage",
    "Listing",
    "Overwrite",
    "PathEntry",
    "PathIndex",
    "Revision",
    "valid_path",
]
