"""What the SampleMind companion and hub agree on.

A small package that depends only on pydantic, shared by the desktop companion
(``samplemind-companion``) and the central service (``samplemind-hub``), so that neither has to
install the other:

- :mod:`samplemind_protocol.rules`: the fusion rules document (schema, :func:`parse_rules`, the
  shipped ``rules_v1.json`` and ``rules_v2.json``);
- :mod:`samplemind_protocol.instruments`: the instrument vocabulary the rules name;
- :mod:`samplemind_protocol.payloads`: the sync request and response bodies;
- :mod:`samplemind_protocol.paths`: the hub's endpoint paths;
- :mod:`samplemind_protocol.errors`: :class:`ProtocolError` and :class:`RulesError`.
"""

from __future__ import annotations

from samplemind_protocol.errors import ProtocolError, RulesError

__version__ = "0.1.0"

__all__ = ["ProtocolError", "RulesError", "__version__"]
