"""The UserDirectory contract: alice/wonderland and bob/builder are known users."""

from __future__ import annotations

import pytest

from domain.ports import UserDirectory


class UserDirectoryContract:
    @pytest.fixture
    def users(self) -> UserDirectory:
        raise NotImplementedError

    @pytest.mark.anyio
    async def test_right_and_wrong_passwords(self, users: UserDirectory) -> None:
        assert await users.check_password("alice", "wonderland")
        assert await users.check_password("bob", "builder")
        assert not await users.check_password("alice", "builder")
        assert not await users.check_password("alice", "")
        assert not await users.check_password("alice", "wonderland ")

    @pytest.mark.anyio
    async def test_generation_stays_while_nothing_changes(self, users: UserDirectory) -> None:
        before = users.generation()
        assert await users.check_password("alice", "wonderland")
        assert not await users.check_password("alice", "wrong")
        assert users.generation() == before

    @pytest.mark.anyio
    async def test_unknown_users(self, users: UserDirectory) -> None:
        assert not await users.check_password("mallory", "wonderland")
        assert not await users.check_password("", "")
        assert "alice" in users
        assert "mallory" not in users

    @pytest.mark.anyio
    async def test_hostile_input_is_just_wrong(self, users: UserDirectory) -> None:
        for name, password in (
            ("alice\x00", "wonderland"),
            ("alice", "\udc80"),
            ("a" * 10000, "x"),
        ):
            assert not await users.check_password(name, password)

    def test_password_stamps_tell_users_apart_and_stay_put(self, users: UserDirectory) -> None:
        alice = users.password_stamp("alice")
        assert alice
        assert alice == users.password_stamp("alice")
        assert alice != users.password_stamp("bob")
        assert "wonderland" not in alice
        assert users.password_stamp("mallory") is None
