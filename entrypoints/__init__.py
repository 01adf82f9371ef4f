"""Entry points: configuration, the composition root, the HTTP edge and the CLI.

Internal, except the version and ``Settings``, which :mod:`nora` re-exports.
"""

__version__ = "0.1.0"
"""The one place the version is written; pyproject.toml reads it from here (reading the
installed metadata instead cost a scan of every distribution at each start)."""

__all__ = ["__version__"]
