"""Sync with the central hub: the outbox up (telemetry, embeddings), shared fusion rules down.

``client.SyncClient`` does the work (``push_once``, ``pull_rules``, ``run``, ``status``);
``rules_cache.cached_rules`` gives the ranker the last good rules pulled from the hub;
``status.sync_status`` reads the sync state of a catalog without any network.
"""
