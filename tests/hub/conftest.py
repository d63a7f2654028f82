"""Fixtures: a real PostgreSQL with pgvector (pgserver) and a real hub process on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from samplemind_hub.testing import EmbeddedPostgres, HubProcess, make_token, register_space

#: Spaces the API tests upload to, registered by the operator before the hub starts.
TEST_SPACES = {
    "upsert-test/v1": 16,
    "dims/v1": 8,
    "bad/v1": 3,
    "fine/v1": 4,
    "cov-a/v1": 8,
    "cov-b/v1": 4,
    "search/v1": 32,
    "authtest/v1": 8,
    "tenants/v1": 8,
    "fuzz/v1": 4,
}


@pytest.fixture(scope="session")
def hub_db(postgres: EmbeddedPostgres) -> str:
    """URL of a fresh database for the shared hub, with the test spaces registered."""
    url = postgres.create_database("hub_api")
    for name, dim in TEST_SPACES.items():
        register_space(url, name, dim)
    return url


@pytest.fixture(scope="session")
def hub(hub_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """The hub under test: one process for the API tests, small limits so they can be hit."""
    proc = HubProcess(
        hub_db,
        tmp_path_factory.mktemp("hub") / "hub.log",
        env={"HUB_MAX_BATCH": "1000", "HUB_MAX_BODY_BYTES": str(4 * 1024 * 1024)},
    )
    proc.start()
    yield proc
    proc.stop()


class Users:
    """Creates users with one device token each, named uniquely per test."""

    def __init__(self, database_url: str, prefix: str) -> None:
        self.database_url = database_url
        self.prefix = prefix

    def token(self, user: str, device: str = "laptop", *, scope: str = "device") -> str:
        return make_token(self.database_url, f"{self.prefix}-{user}", device, scope=scope)


@pytest.fixture()
def users(hub_db: str, request: pytest.FixtureRequest) -> Users:
    """Token factory; user names carry the test name so tests never share data."""
    return Users(hub_db, request.node.name)


def auth(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def hex_hash(i: int, salt: str = "") -> str:
    """A 32-hex content hash (as the desktop's blake2b-128)."""
    import hashlib

    return hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=16).hexdigest()
