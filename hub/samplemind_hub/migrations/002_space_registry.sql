-- Embedding spaces belong to the operator: uploads no longer create them (a user could squat a
-- name with a wrong dimension, and learn from a refusal that another user had used it).
-- Spaces created by uploads before this migration stay registered. The desktop's two spaces
-- come registered, each with its partial HNSW index (pgvector defaults m = 16,
-- ef_construction = 64); `samplemind-hub spaces add NAME --dim N` registers more.

INSERT INTO embedding_spaces (name, dim) VALUES
    ('fingerprint/v1', 512),
    ('clap-htsat-unfused/v1', 512)
ON CONFLICT (name) DO NOTHING;

DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT id, dim FROM embedding_spaces WHERE name IN ('fingerprint/v1', 'clap-htsat-unfused/v1') LOOP
        EXECUTE format(
            'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops)'
            ' WITH (m = 16, ef_construction = 64) WHERE space_id = %s',
            'embeddings_hnsw_space_' || s.id, s.dim, s.id);
    END LOOP;
END
$$;
