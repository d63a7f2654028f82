"""GET /api/v1/recommendations/rules: versions, ETag, If-None-Match, publishing."""

from __future__ import annotations

import json
from importlib import resources

import httpx
import psycopg
import pytest

from samplemind_hub import HubError
from samplemind_hub.rules import etag_matches, publish_rules
from samplemind_hub.testing import HubProcess
from tests.hub.conftest import Users, auth

PATH = "/api/v1/recommendations/rules"


def packaged() -> dict:
    return json.loads(resources.files("samplemind_protocol").joinpath("rules_v2.json").read_text())


def test_the_hub_is_seeded_with_the_packaged_rules(hub: HubProcess, hub_db: str, users: Users) -> None:
    with psycopg.connect(hub_db) as conn:
        first = conn.execute("SELECT document, source FROM rules_versions WHERE version = 1").fetchone()
    assert first == (packaged(), "packaged:rules_v2.json")


def test_etag_and_if_none_match(hub: HubProcess, users: Users) -> None:
    token = users.token("alice")
    url = f"{hub.base_url}{PATH}"
    r = httpx.get(url, headers=auth(token))
    assert r.status_code == 200
    body = r.json()
    assert r.headers["etag"] == body["etag"] and body["etag"].startswith(f'"r{body["version"]}-')
    assert r.headers["cache-control"] == "no-cache"
    for header in (body["etag"], f"W/{body['etag']}", f'"other", {body["etag"]}', "*"):
        again = httpx.get(url, headers={**auth(token), "If-None-Match": header})
        assert again.status_code == 304, header
        assert again.headers["etag"] == body["etag"] and again.content == b""
    assert httpx.get(url, headers={**auth(token), "If-None-Match": '"r0-stale"'}).status_code == 200


def test_publishing_makes_a_new_current_version(hub: HubProcess, hub_db: str, users: Users) -> None:
    token = users.token("bob")
    url = f"{hub.base_url}{PATH}"
    before = httpx.get(url, headers=auth(token)).json()
    doc = packaged()
    doc["mmr"]["lambda"] = 0.55
    doc["description"] = "tuned diversity"
    with psycopg.connect(hub_db) as conn:
        version, etag = publish_rules(conn, doc, source="test")
    assert version == before["version"] + 1
    after = httpx.get(url, headers={**auth(token), "If-None-Match": before["etag"]})
    assert after.status_code == 200
    assert after.json()["version"] == version and after.json()["rules"] == doc
    assert after.headers["etag"] == etag != before["etag"]


def test_invalid_rules_are_never_published(hub_db: str) -> None:
    doc = packaged()
    doc["mmr"]["lambda"] = 3.0
    del doc["score"]["tempo"]
    with psycopg.connect(hub_db) as conn:
        count = conn.execute("SELECT count(*) FROM rules_versions").fetchone()[0]
        with pytest.raises(HubError, match=r"mmr\.lambda.*|score\.tempo"):
            publish_rules(conn, doc, source="test")
        assert conn.execute("SELECT count(*) FROM rules_versions").fetchone()[0] == count


def test_etag_matching_rules() -> None:
    assert etag_matches('"a"', '"a"') and etag_matches('W/"a"', '"a"') and etag_matches('"x", "a"', '"a"')
    assert etag_matches("*", '"a"')
    assert not etag_matches(None, '"a"') and not etag_matches('"b"', '"a"') and not etag_matches("", '"a"')
