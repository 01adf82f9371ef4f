"""Whole local files handed to the ASGI server to send (the ``http.response.pathsend`` extension).

With it the bytes never enter Python: the server moves them from the file to
the socket itself (granian on its I/O threads; NORA's uvicorn protocol with
``sendfile(2)``, see :mod:`entrypoints.uvicorn_server`). Servers that offer it
say so in ``scope["extensions"]``; everyone else gets the streamed response the
caller builds instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from litestar import Response
from litestar.response.base import ASGIResponse

if TYPE_CHECKING:
    from litestar.types import Receive, Send

__all__ = ["FILE_FOLLOWS", "PATHSEND", "PathSend", "supports_pathsend"]

PATHSEND: Final = "http.response.pathsend"
FILE_FOLLOWS: Final = "nora.file_follows"
"""Marks a response start whose body is a pathsend: a server may hold the head and send
it with the file's first bytes (one segment instead of two). Others ignore the key."""


def supports_pathsend(scope: Any) -> bool:
    """Whether the server running this request accepts ``http.response.pathsend``."""
    extensions = scope.get("extensions")
    return isinstance(extensions, dict) and PATHSEND in extensions


class _ASGIPathSend(ASGIResponse):
    __slots__ = ("path",)

    def __init__(self, path: Path, *, headers: dict[str, str], status_code: int) -> None:
        super().__init__(headers=headers, status_code=status_code, media_type=None)
        self.path = path

    async def start_response(self, send: Send) -> None:
        event: Any = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.encode_headers(),
            FILE_FOLLOWS: True,
        }
        await send(event)

    async def send_body(self, send: Send, receive: Receive) -> None:
        message: Any = {"type": PATHSEND, "path": str(self.path)}
        await send(message)


class PathSend(Response[bytes]):
    """The whole file at ``path`` (absolute) as the body.

    ``headers`` must carry the file's ``content-length``; the file must not
    change while it is sent (content-addressed blobs never do).
    """

    def __init__(self, path: Path, *, headers: dict[str, str], status_code: int = 200) -> None:
        super().__init__(b"", headers=headers, status_code=status_code)
        self.path = path

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        """Litestar calls this to get the ASGI app that sends the response."""
        return _ASGIPathSend(
            self.path, headers=dict(self.headers), status_code=self.status_code or 200
        )
