"""A finished small response, handed to the server as it is.

Hot reads (a metadata document, an index page, a small file) know their
whole body and headers when the handler returns. Litestar's ``Response``
would build a second, ASGI-level response from it, normalising every header
and encoding the body again: more work than the read itself. An
:class:`Answer` is a ``Response`` (handlers, error renderers and refusals
return it like any other) that is its own ASGI app: Litestar's
``to_asgi_response`` hands back the answer itself, and its messages are
built once, when it is sent. The access layer, the metrics and the activity
trail see them like any other response's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Response

__all__ = ["Answer"]

_NO_LENGTH = frozenset({204, 304})


class Answer(Response[bytes]):
    """``status``, ``headers`` and ``body`` (b"" for HEAD), sent as one start and one body message.

    ``content-length`` is the body's own unless ``headers`` already says (a
    HEAD answers with the size of what a GET would send). ``headers`` stays a
    plain dict until it is sent, so a refusal can still add its challenge.
    """

    __slots__ = ()

    def __init__(  # sets Response's attributes without its normalising
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        media_type: str | None = None,
    ) -> None:
        self.status_code = status
        self.headers = dict(headers)
        self.content = body
        self.media_type = media_type
        self.background = None
        self.cookies = []
        self.encoding = "utf-8"
        self.response_type_encoders = {}

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        """Litestar calls this for the ASGI app that sends the response: the answer itself."""
        return self

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = self.content
        encoded = [
            (name.lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in self.headers.items()
        ]
        names = {name for name, _ in encoded}
        if self.status_code not in _NO_LENGTH:
            if self.media_type is not None and b"content-type" not in names:
                encoded.append((b"content-type", str(self.media_type).encode("latin-1")))
            if b"content-length" not in names:
                encoded.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({"type": "http.response.start", "status": self.status_code, "headers": encoded})
        await send({"type": "http.response.body", "body": body})
