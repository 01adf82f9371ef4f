"""Archives the tests build by hand: Helm charts, OCI layers, archives a client would refuse."""

from __future__ import annotations

import gzip
import io
import tarfile

__all__ = ["tgz"]


def tgz(files: dict[str, bytes]) -> bytes:
    """A gzip tar holding ``files`` (path -> bytes).

    mtime=0: the same files give the same bytes (and digest) in any second.
    """
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)
