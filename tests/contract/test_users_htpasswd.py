"""The UserDirectory contract against the htpasswd adapter, plus live reloading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.auth.htpasswd import HtpasswdUsers, hash_password
from domain.ports import UserDirectory
from tests.contract.user_directory_contract import UserDirectoryContract


def _write(path: Path, users: dict[str, str]) -> None:
    path.write_text("".join(f"{u}:{hash_password(p, rounds=4)}\n" for u, p in users.items()))


class TestHtpasswdUsers(UserDirectoryContract):
    @pytest.fixture
    def users(self, tmp_path: Path) -> UserDirectory:
        path = tmp_path / "htpasswd"
        _write(path, {"alice": "wonderland", "bob": "builder"})
        with path.open("a") as f:
            f.write("# a comment\n\ncarol:{SHA}not-bcrypt-so-ignored\n")
        return HtpasswdUsers(path)

    @pytest.mark.anyio
    async def test_file_changes_are_picked_up(self, tmp_path: Path) -> None:
        path = tmp_path / "htpasswd"
        _write(path, {"alice": "one"})
        users = HtpasswdUsers(path)
        assert await users.check_password("alice", "one")
        before = users.generation()
        _write(path, {"alice": "two", "dave": "new"})
        os.utime(path, (1, 1))  # a different mtime, whatever the clock's resolution
        users._checked = 0.0  # skip the one-second debounce
        assert await users.check_password("alice", "two")
        assert not await users.check_password("alice", "one")
        assert "dave" in users
        assert users.generation() > before, "a changed password moves the generation"

    def test_entries_look_like_htpasswd_b(self) -> None:
        assert hash_password("x", rounds=4).startswith("$2y$04$")

    @pytest.mark.anyio
    async def test_missing_file_means_no_users(self, tmp_path: Path) -> None:
        users = HtpasswdUsers(tmp_path / "absent")
        assert not await users.check_password("alice", "wonderland")
