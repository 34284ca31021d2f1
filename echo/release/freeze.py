"""Freeze the current database into an immutable, versioned release folder.

<releases_dir>/<version>/
  data/<config>.parquet   one file per config, rows sorted by id, fixed writer options, no timestamps
  CHANGELOG.md            against the parent version (the newest release at freeze time)
  manifest.json           files with sha256/size/rows, row schemas, parent, hashes, source runs, counts

The freeze time is kept only in the releases table, so the same database and config give the same bytes.
Publishing follows the journal's order (echo.release.journal): a kill at any point is finished or undone by
echo.release.recover, which freeze runs first.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from echo import __version__, schema
from echo.config import Config
from echo.release import diff as diffmod
from echo.release import journal
from echo.privacy import Pseudonymizer, load_salt
from echo.release.build import ReleaseContent, build_content
from echo.killpoints import killpoint
from echo.release.rows import BENCHMARK_CONFIGS, CONFIGS, row_schema, to_table, validate_rows
from echo.release.verify import MANIFEST, parent_benchmark_ids, read_manifest, rows_hash, sha256_file, verify_release
from echo.store import Store

log = logging.getLogger("echo.release")

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CHANGELOG = "CHANGELOG.md"
# Fixed writer options: with the same pyarrow, the same rows give the same bytes.
PARQUET_OPTIONS = dict(compression="zstd", compression_level=9, use_dictionary=True, write_statistics=True,
                       version="2.6", data_page_version="1.0", row_group_size=10_000)


class ReleaseError(RuntimeError):
    pass


class ReleaseExists(ReleaseError):
    pass


class ReleaseHeld(RuntimeError):
    """A release that would lose benchmark samples while the run that built it had failures: not frozen."""


@dataclass
class FreezeResult:
    version: str
    path: Path
    manifest: dict
    content: ReleaseContent
    diff: diffmod.ReleaseDiff
    export_dir: Path | None = None


def check_version(version: str) -> str:
    if not VERSION_RE.match(version or ""):
        raise ReleaseError(f"bad release version {version!r}: use letters, digits, '.', '_' or '-' (e.g. 2026.11.22 or v1)")
    return version


def latest_release(store: Store) -> dict | None:
    rows = store.query("SELECT * FROM releases ORDER BY created_at DESC NULLS LAST, version DESC LIMIT 1")
    return rows[0] if rows else None


def release_row(store: Store, version: str) -> dict | None:
    rows = store.query("SELECT * FROM releases WHERE version = ?", [version])
    return rows[0] if rows else None


def auto_version(store: Store, releases_dir: Path, today: dt.date | None = None) -> str:
    """Date-based: 2026.11.22, then 2026.11.22.2, .3 ... on the same day."""
    base = (today or dt.datetime.now(dt.UTC).date()).strftime("%Y.%m.%d")
    n = 1
    while True:
        v = base if n == 1 else f"{base}.{n}"
        if not (releases_dir / v).exists() and release_row(store, v) is None:
            return v
        n += 1


def content_hash(content: ReleaseContent) -> str:
    """sha256 over the rows as canonical JSON: independent of the Parquet library version."""
    return rows_hash(content.rows)


def _counts(content: ReleaseContent) -> dict:
    per_platform: dict[str, dict[str, int]] = {}
    clusters: collections.Counter = collections.Counter()
    for cfg in CONFIGS:
        c = collections.Counter(r["platform"] for r in content.rows[cfg])
        per_platform[cfg] = dict(sorted(c.items()))
        clusters.update((r["cluster_id"], r["cluster_label"]) for r in content.rows[cfg])
    return {
        "per_config": {cfg: len(content.rows[cfg]) for cfg in CONFIGS},
        "per_task": {cfg: len(content.rows[cfg]) for cfg in BENCHMARK_CONFIGS},
        "per_platform": per_platform,
        "per_cluster": [{"cluster_id": cid, "label": label, "rows": n}
                        for (cid, label), n in sorted(clusters.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0, kv[0][1] or ""))],
        "excluded": dict(sorted(content.excluded.items())),
    }


# What build_content reads, plus the takedowns the changelog checks: while none of these changed since a freeze
# found its content equal to the newest release (or froze it), a refresh need not build the content again.
INPUT_TABLES = ("samples", "posts", "duplicates", "clusterings", "clusters", "feedback", "media", "review_decisions",
                "takedowns")
INPUTS_STATE = ".freeze-inputs.json"


def input_fingerprint(store: Store, config: Config) -> str:
    parts = {t: store.fingerprint(t) for t in INPUT_TABLES}
    parts.update(config=config.hash(), code=__version__,
                 salt=hashlib.sha256(load_salt(config)).hexdigest())
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _inputs_unchanged(releases_dir: Path, fingerprint: str, parent: dict | None) -> bool:
    try:
        state = json.loads((releases_dir / INPUTS_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (parent is not None and state.get("inputs") == fingerprint and state.get("version") == parent["version"]
            and state.get("content_hash") == parent["content_hash"])


def _record_inputs(releases_dir: Path, fingerprint: str, release: dict) -> None:
    releases_dir.mkdir(parents=True, exist_ok=True)
    tmp = releases_dir / f".{INPUTS_STATE}.tmp"
    tmp.write_text(json.dumps({"inputs": fingerprint, "version": release["version"],
                               "content_hash": release["content_hash"]}, sort_keys=True), encoding="utf-8")
    os.replace(tmp, releases_dir / INPUTS_STATE)


def _write_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def freeze(store: Store, config: Config, version: str | None = None, *, run_id: str | None = None,
           only_if_changed: bool = False, export: bool = False,
           hold_if_shrinking: str | None = None) -> FreezeResult | None:
    """Build and freeze a release, and with export=True its Hugging Face export (<exports_dir>/<version>/hf).
    Returns None when only_if_changed and the content equals the latest release. With `hold_if_shrinking` (why
    the run is not complete), a first release, or one with fewer benchmark samples than its parent, raises
    ReleaseHeld.

    What a killed earlier run left is recovered first, so the same content is never frozen twice.
    """
    from echo.release.forget import taken_down_checker
    from echo.release.hf import default_export_dir, export_hf
    from echo.release.recover import recover

    releases_dir = config.path("releases_dir")
    recover(store, config)  # (logs what it did)
    if version is not None:
        check_version(version)
        if (releases_dir / version).exists() or release_row(store, version) is not None:
            raise ReleaseExists(f"release {version} already exists ({releases_dir / version}); releases are immutable, "
                                "pick a new version")
    parent = latest_release(store)
    inputs = input_fingerprint(store, config) if only_if_changed and version is None else None
    if inputs is not None and _inputs_unchanged(releases_dir, inputs, parent):
        log.info("release inputs unchanged since %s was checked: nothing to freeze", parent["version"])
        return None
    parent_dir = Path(parent["path"]) if parent else None
    parent_ids: set[str] = set()
    old_rows: dict[str, dict[str, dict]] = {}
    if parent_dir is not None:
        if parent_dir.is_dir():
            # sticky membership and the changelog trust the parent's files: check them first
            verify_release(parent_dir, expected_manifest_sha256=parent.get("manifest_sha256"),
                           expected_content_hash=parent["content_hash"])
            parent_ids = parent_benchmark_ids(parent_dir)
            old_rows = diffmod.read_rows(parent_dir, read_manifest(parent_dir))
        else:
            log.warning("parent release %s is missing at %s: sticky membership cannot be applied",
                        parent["version"], parent_dir)

    pseudonymize = Pseudonymizer(load_salt(config))
    content = build_content(store, config, pseudonymize, parent_ids)
    for cfg in CONFIGS:
        validate_rows(cfg, content.rows[cfg])
    chash = content_hash(content)
    if only_if_changed and parent is not None and parent["content_hash"] == chash:
        if inputs is not None:
            _record_inputs(releases_dir, inputs, parent)
        return None
    if only_if_changed and parent is None and not any(content.rows.values()):
        return None  # nothing to release yet: no empty first version
    kept = sum(len(content.rows[cfg]) for cfg in BENCHMARK_CONFIGS)
    if hold_if_shrinking and parent is None:
        raise ReleaseHeld(f"not frozen: a first release waits for a run without failures ({hold_if_shrinking})")
    if hold_if_shrinking and kept < len(parent_ids):
        raise ReleaseHeld(f"not frozen: the benchmark would shrink from {len(parent_ids)} to {kept} samples while "
                          f"this run had failures ({hold_if_shrinking}); the next complete run freezes it")
    version = version or auto_version(store, releases_dir)

    releases_dir.mkdir(parents=True, exist_ok=True)
    tmp = journal.tmp_release_dir(releases_dir, version)
    if tmp.exists():  # a dead process with this pid left it
        shutil.rmtree(tmp)
    (tmp / "data").mkdir(parents=True)
    final = releases_dir / version
    export_dir = default_export_dir(config, version) if export else None
    intent_written = False
    try:
        files = []
        for cfg in CONFIGS:
            rel = f"data/{cfg}.parquet"
            pq.write_table(to_table(cfg, content.rows[cfg]), tmp / rel, **PARQUET_OPTIONS)
            files.append({"path": rel, "rows": len(content.rows[cfg])})
            killpoint("freeze.partial_tmp")

        new_rows = {cfg: {r["id"]: diffmod.fingerprint(r) for r in content.rows[cfg]} for cfg in CONFIGS}
        d = diffmod.diff_rows(old_rows, new_rows, old_version=parent["version"] if parent else None,
                              new_version=version, reasons=content.reasons,
                              taken_down=taken_down_checker(store, pseudonymize))
        counts = _counts(content)
        (tmp / CHANGELOG).write_text(diffmod.render_markdown(d, counts["per_config"], content_hash=chash),
                                     encoding="utf-8")
        files.append({"path": CHANGELOG, "rows": None})
        for f in files:
            p = tmp / f["path"]
            f["sha256"], f["size"] = sha256_file(p), p.stat().st_size

        platforms = sorted({r["platform"] for cfg in CONFIGS for r in content.rows[cfg]})
        manifest = {
            "format": "echo-release/1",
            "name": "echo",
            "version": version,
            "parent_version": parent["version"] if parent else None,
            "content_hash": chash,
            "config_hash": config.hash(),
            "code_version": __version__,
            "source_runs": content.source_runs,
            "settings": {"include_nsfw": config.release.include_nsfw, "keep_urls": config.release.keep_urls,
                         "license": config.release.license},
            "collection": {"first_post": content.first_post, "last_post": content.last_post, "platforms": platforms},
            "configs": {cfg: {"files": [f"data/{cfg}.parquet"], "rows": len(content.rows[cfg]),
                              "schema": row_schema(cfg)} for cfg in CONFIGS},
            "files": sorted(files, key=lambda f: f["path"]),
            "counts": counts,
            "changes": d.summary(),
        }
        schema.validate("release/manifest", manifest)
        _write_json(tmp / MANIFEST, manifest)
        for p in tmp.rglob("*"):
            if p.is_file():
                p.chmod(0o444)
        journal.fsync_tree(tmp)
        killpoint("freeze.tmp_written")
        row = journal.release_row_of(manifest, final, run_id=run_id, created_at=dt.datetime.now(dt.UTC),
                             manifest_sha256=sha256_file(tmp / MANIFEST))
        journal.write_intent(releases_dir, version, {
            "version": version, "tmp": tmp.name, "row": {**row, "created_at": row["created_at"].isoformat()},
            "export": str(export_dir) if export_dir else None})
        intent_written = True
        killpoint("freeze.after_intent")
        os.rename(tmp, final)  # atomic: a crash never leaves a half-written release under its version name
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if intent_written:
            journal.clear_intent(releases_dir, version)
        raise
    journal.fsync_path(releases_dir)
    killpoint("freeze.after_rename")
    store.upsert("releases", [row])
    killpoint("freeze.after_row")
    if export_dir is not None:
        export_hf(final, export_dir, config, overwrite=True, manifest_sha256=row["manifest_sha256"])
    journal.clear_intent(releases_dir, version)
    if inputs is not None:
        _record_inputs(releases_dir, inputs, row)
    log.info("froze release %s at %s: %s", version, final, counts["per_config"])
    return FreezeResult(version, final, manifest, content, d, export_dir)
