-- What each frozen release holds: one row per release file, from its manifest.
CREATE OR REPLACE VIEW release_contents AS
SELECT
    r.version, r.parent_version, r.created_at,
    coalesce(f.value->>'path', f.key) AS file,
    (f.value->>'rows')::BIGINT AS rows,
    (f.value->>'bytes')::BIGINT AS bytes,
    f.value->>'sha256' AS sha256
FROM releases r, json_each(r.manifest->'files') f
ORDER BY r.created_at DESC, file;
