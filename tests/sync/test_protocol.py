"""The desktop speaks the shared protocol: what it queues validates with ``samplemind_protocol``.

No hub here: the outbox payloads the desktop writes are checked against the same pydantic
models the hub validates requests with, and the shared constants against the desktop's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from companion.analysis.instruments import INSTRUMENTS
from companion.errors import CompanionError, RulesError
from companion.library import events
from companion.library.db import connect
from companion.library.vectors import get_vector
from companion.ranking.rules import load_default_rules, load_packaged_rules, parse_rules
from companion.sync import client
from samplemind_protocol import paths
from samplemind_protocol.errors import ProtocolError
from samplemind_protocol.errors import RulesError as ProtocolRulesError
from samplemind_protocol.instruments import INSTRUMENTS as PROTOCOL_INSTRUMENTS
from samplemind_protocol.payloads import EVENT_TYPES, EmbeddingBatch, TelemetryBatch
from samplemind_protocol.rules import load_default_rules as protocol_default_rules
from tests.sync.conftest import add_embeddings, add_events


def _outbox(db_path: Path, kind: str) -> list[dict]:
    conn = connect(db_path)
    rows = conn.execute("SELECT payload_json FROM outbox WHERE kind = ? ORDER BY id", (kind,)).fetchall()
    conn.close()
    return [json.loads(r[0]) for r in rows]


def test_queued_events_are_protocol_telemetry(catalog: Path) -> None:
    add_events(catalog, 12)
    payloads = _outbox(catalog, "event")
    assert len(payloads) == 12
    batch = TelemetryBatch.model_validate({"events": payloads})
    assert {e.type for e in batch.events} <= set(EVENT_TYPES)


def test_queued_embeddings_are_protocol_items(catalog: Path) -> None:
    vectors = add_embeddings(catalog, 3)
    payloads = _outbox(catalog, "embedding")
    conn = connect(catalog)
    for payload in payloads:  # as the sync client fills them in before sending
        payload.setdefault("vector", get_vector(conn, payload["space"], payload["content_hash"]).tolist())
    conn.close()
    batch = EmbeddingBatch.model_validate({"items": payloads})
    assert {item.content_hash for item in batch.items} == set(vectors)
    for item in batch.items:  # float32 as stored: the desktop's vector bit for bit
        assert bytes(item.vector32) == vectors[item.content_hash].tobytes()


def test_shared_constants_are_the_desktops() -> None:
    assert set(EVENT_TYPES) == set(events.EVENT_TYPES)
    assert INSTRUMENTS == PROTOCOL_INSTRUMENTS
    assert (client.EVENTS_PATH, client.EMBEDDINGS_PATH, client.RULES_PATH) == (
        paths.EVENTS_PATH,
        paths.EMBEDDINGS_PATH,
        paths.RULES_PATH,
    )
    assert load_default_rules() == protocol_default_rules()
    assert load_packaged_rules(1).version == 1


def test_rules_errors_are_companion_and_protocol_errors() -> None:
    for bad in ("{", "[]", {"version": 1}):
        with pytest.raises(RulesError) as caught:
            parse_rules(bad)
        assert isinstance(caught.value, CompanionError)
        assert isinstance(caught.value, ProtocolRulesError) and isinstance(caught.value, ProtocolError)
        assert isinstance(caught.value.__cause__, ProtocolRulesError)
    with pytest.raises(RulesError, match="no packaged fusion rules of format version 9"):
        load_packaged_rules(9)
