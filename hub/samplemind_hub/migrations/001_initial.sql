-- Hub schema v1: users' devices, samples by content hash, embeddings per space, telemetry
-- events, shared fusion rules versions, and the hub's own secrets.
--
-- Every row of user data carries user_id; every query the API runs filters on the user of the
-- bearer token, so a token only ever reads and writes its own user's data.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One bearer token per (user, device); revoking the device invalidates its token at once.
CREATE TABLE devices (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    UNIQUE (user_id, name)
);

-- Samples are identified by the blake2b-128 hex of their bytes (the desktop catalog's
-- content_hash), never by path: the same file in two folders is one sample.
CREATE TABLE samples (
    user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    content_hash   text NOT NULL,
    metadata       jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen_at  timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, content_hash)
);

-- An embedding space is a model id plus its front-end/pooling version ('fingerprint/v1');
-- its dimension is fixed by the first upload. Vectors of different spaces are never compared.
CREATE TABLE embedding_spaces (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    dim         integer NOT NULL CHECK (dim BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The vector column has no fixed dimension so that one table holds every space; each space
-- gets a partial HNSW index on (embedding::vector(dim)) vector_cosine_ops WHERE space_id = id,
-- created with the space (pgvector README, "Indexing vectors of different dimensions").
CREATE TABLE embeddings (
    user_id       uuid NOT NULL,
    space_id      integer NOT NULL REFERENCES embedding_spaces(id),
    content_hash  text NOT NULL,
    embedding     vector NOT NULL,
    vector_sha    text NOT NULL,          -- sha1 of the float32 bytes, 16 hex (as the desktop)
    device_id     uuid,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, space_id, content_hash),
    FOREIGN KEY (user_id, content_hash) REFERENCES samples(user_id, content_hash) ON DELETE CASCADE
);

-- Telemetry events are idempotent by (user, event id); `deliveries` counts how many times the
-- same event reached the hub (at-least-once delivery from the desktop outbox).
CREATE TABLE telemetry_events (
    user_id              uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event_id             text NOT NULL,
    device_id            uuid,
    type                 text NOT NULL,
    sample_content_hash  text,
    session_id           text NOT NULL,
    context              jsonb NOT NULL,
    metadata             jsonb NOT NULL,
    created_at           timestamptz NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    deliveries           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (user_id, event_id)
);
CREATE INDEX telemetry_events_user_time ON telemetry_events (user_id, created_at);
CREATE INDEX telemetry_events_user_type ON telemetry_events (user_id, type);

-- Shared fusion rules: one row per published version; the highest version is current.
CREATE TABLE rules_versions (
    version       integer PRIMARY KEY CHECK (version >= 1),
    document      jsonb NOT NULL,
    etag          text NOT NULL,
    source        text NOT NULL,
    published_at  timestamptz NOT NULL DEFAULT now()
);

-- The JWT signing key (generated once, shared by every hub replica on this database) unless
-- HUB_JWT_SECRET overrides it.
CREATE TABLE hub_secrets (
    name        text PRIMARY KEY,
    value       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
