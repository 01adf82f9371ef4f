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

    def test_a_new_password_moves_the_stamp_in_every_reader(self, tmp_path: Path) -> None:
        path = tmp_path / "htpasswd"
        _write(path, {"alice": "one", "bob": "same"})
        first, other = HtpasswdUsers(path), HtpasswdUsers(path)
        stamp = first.password_stamp("alice")
        assert stamp == other.password_stamp("alice"), "replicas agree"
        bob = first.password_stamp("bob")
        entries = path.read_text().splitlines()
        path.write_text(entries[1] + "\n" + f"alice:{hash_password('two', rounds=4)}\n")
        os.utime(path, (1, 1))
        first._checked = 0.0
        assert first.password_stamp("alice") != stamp
        assert first.password_stamp("bob") == bob, "only the changed user's stamp moves"

    def test_entries_look_like_htpasswd_b(self) -> None:
        assert hash_password("x", rounds=4).startswith("$2y$04$")

    @pytest.mark.anyio
    async def test_missing_file_means_no_users(self, tmp_path: Path) -> None:
        users = HtpasswdUsers(tmp_path / "absent")
        assert not await users.check_password("alice", "wonderland")
