"""Session context and the fusion ranker (docs/architecture.md §2 and §3).

- :mod:`~companion.ranking.context`: :class:`SessionContext`, :class:`ContextStore`.
- :mod:`~companion.ranking.rules`: the versioned fusion rules document (``rules_v1.json``).
- :mod:`~companion.ranking.candidates`: the library as numpy columns.
- :mod:`~companion.ranking.filters`, :mod:`~companion.ranking.scoring`,
  :mod:`~companion.ranking.mmr`, :mod:`~companion.ranking.selection`: the rules, vectorised.
- :mod:`~companion.ranking.spaces`: embedding spaces and retrieval from their HNSW index.
- :mod:`~companion.ranking.ranker`: :class:`Ranker`, :class:`Suggestion`, :class:`SessionState`.
"""
