"""UserDirectory over an htpasswd file with bcrypt entries (``htpasswd -B``).

The file is re-read when its modification time or size changes (checked at
most once a second), so adding a user needs no restart. bcrypt is slow on
purpose; clients such as pip and Maven send Basic credentials with every
request, so a successful check is remembered for a few minutes under a keyed
hash of user, password and stored hash (never the password itself), and a
changed entry invalidates it. Unknown users cost one bcrypt check on a dummy
hash, so timing does not reveal which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import Final

import anyio.to_thread
import bcrypt

__all__ = ["HtpasswdUsers", "hash_password"]

_log = logging.getLogger("nora.auth")
_CACHE_SECONDS: Final = 300.0
_CACHE_SIZE: Final = 4096
_DUMMY_HASH: Final = bcrypt.hashpw(b"not a password", bcrypt.gensalt(rounds=10))


def hash_password(password: str, rounds: int = 10) -> str:
    """A bcrypt entry as ``htpasswd -B`` writes it (``$2y$`` prefix)."""
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode()
    return "$2y$" + hashed[4:]


class HtpasswdUsers:
    """Users and bcrypt password hashes from one file."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._entries: dict[str, bytes] = {}
        self._stamp: tuple[float, int] | None = None
        self._checked = 0.0
        self._key = secrets.token_bytes(32)
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._generation = 0
        self._reload(force=True)

    def generation(self) -> int:
        self._reload()
        return self._generation

    def __contains__(self, username: object) -> bool:
        self._reload()
        return isinstance(username, str) and username in self._entries

    def password_stamp(self, username: str) -> str | None:
        self._reload()
        stored = self._entries.get(username)
        # a digest of the salted bcrypt entry: new with every new password, and of no use
        # for guessing one without the entry itself
        return None if stored is None else hashlib.sha256(stored).hexdigest()[:16]

    async def check_password(self, username: str, password: str) -> bool:
        self._reload()
        stored = self._entries.get(username)
        candidate = password.encode("utf-8", "surrogatepass")
        if stored is None:
            await anyio.to_thread.run_sync(bcrypt.checkpw, candidate, _DUMMY_HASH)
            return False
        memo = hmac.new(
            self._key, b"\0".join((username.encode(), candidate, stored)), hashlib.sha256
        )
        token = memo.digest()
        now = time.monotonic()
        seen = self._verified.get(token)
        if seen is not None and now - seen < _CACHE_SECONDS:
            return True
        try:
            ok = await anyio.to_thread.run_sync(bcrypt.checkpw, candidate, stored)
        except ValueError:
            return False
        if ok:
            self._verified[token] = now
            self._verified.move_to_end(token)
            while len(self._verified) > _CACHE_SIZE:
                self._verified.popitem(last=False)
        return ok

    def _reload(self, *, force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < 1.0:
            return
        self._checked = now
        try:
            st = self.path.stat()
        except FileNotFoundError:
            if self._entries:
                _log.warning("htpasswd file disappeared; no user can log in")
                self._generation += 1
            self._entries, self._stamp = {}, None
            return
        stamp = (st.st_mtime, st.st_size)
        if stamp == self._stamp:
            return
        entries: dict[str, bytes] = {}
        for number, line in enumerate(self.path.read_text("utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not hashed.startswith(("$2y$", "$2b$", "$2a$")):
                _log.warning("htpasswd line %d is not a bcrypt entry; ignored", number)
                continue
            entries[user] = ("$2b$" + hashed[4:]).encode("ascii")
        if entries != self._entries:
            self._generation += 1
        self._entries, self._stamp = entries, stamp
        self._verified.clear()
