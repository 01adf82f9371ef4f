"""Entry points: configuration, the composition root, the HTTP edge and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nora")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
