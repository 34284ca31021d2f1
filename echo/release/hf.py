"""Hugging Face export of a frozen release: a dataset repo folder that `datasets.load_dataset(DIR, config)` reads.

DIR/
  README.md                                dataset card (YAML front matter `configs` and `dataset_info`)
  data/<config>/test-0000i-of-0000n.parquet images embedded (datasets Image feature: struct {bytes, path})
  echo_release.json                        release manifest, and sha256/size/rows of every exported file

`datasets` caches a local folder under its folder name and a hash of the card's YAML (`configs` and
`dataset_info`), never of the data files. So the card carries the export's identity (version and release
content hash, in each config's `description`) and the split sizes of the data: two different exports never
share a cache entry, even in folders with the same name, and a stale entry fails the split-size check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from echo.config import Config
from echo.release import journal
from echo.killpoints import killpoint
from echo.release.rows import CONFIGS
from echo.release.verify import iter_rows, rows_hash, sha256_file, verify_release

log = logging.getLogger("echo.release")

SPLIT = "test"
EXPORT_MANIFEST = "echo_release.json"
IMAGE_COLUMNS = ("input_images", "output_images")
PAPER = ("Ge, Luo et al. 2025. Constantly Improving Image Models Need Constantly Improving Benchmarks "
         "(ECHO).")


class ExportError(RuntimeError):
    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]


# Rows per Parquet row group of an export shard, and per write: with the bytes cap, bounds the images in memory
# when writing and reading (real 2048 px photos are 1-3 MB each).
ROW_GROUP = 100
ROW_GROUP_BYTES = 32 * 1024 * 1024


def default_export_dir(config: Config, version: str) -> Path:
    return config.path("exports_dir") / version / "hf"


def media_file(media_dir: str, ref: dict) -> bytes:
    """The bytes of a released image from the media store (`media_dir`), checked against its content address."""
    path = os.path.join(media_dir, ref["path"])
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise ExportError(f"image {ref['sha256']} is missing from the media store at {path}") from None
    if hashlib.sha256(data).hexdigest() != ref["sha256"]:
        raise ExportError(f"image at {path} does not match its sha256 {ref['sha256']}: the media store changed")
    return data


def features_for(arrow_schema: pa.Schema):
    """datasets Features of an exported config: the release columns, images as Image() lists, refs kept beside."""
    from datasets import Features, Image, List

    base = Features.from_arrow_schema(arrow_schema)
    out = {}
    for name, feat in base.items():
        if name in IMAGE_COLUMNS:
            out[name] = List(Image())
            out[name.replace("_images", "_image_refs")] = feat
        else:
            out[name] = feat
    return Features(out)


def export_identity(manifest: dict, embedded: bool) -> str:
    """What tells this export apart from every other in the card (and so in the HF datasets cache)."""
    return (f"echo {manifest['version']}, release content sha256 {manifest['content_hash']}, "
            f"images {'embedded' if embedded else 'not embedded'}")


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:  # reported by media_file when the row is written
        return 0


def _export_rows(rows: pa.Table, feats, config: Config, embed: bool) -> pa.Table:
    """A slice of the release's rows as export rows: each image column becomes datasets Image structs (the
    checked bytes, or the store path when images are not embedded), its refs kept in `<name>_image_refs`."""
    cols = {}
    for name in feats:
        if name.endswith("_image_refs"):
            cols[name] = rows.column(name.replace("_image_refs", "_images"))
        elif name in IMAGE_COLUMNS:
            refs = rows.column(name).combine_chunks()
            flat = refs.flatten()  # the slice's refs only
            paths = flat.field("path").to_pylist()
            if embed:
                media_dir = str(config.path("media_dir"))
                images = [media_file(media_dir, {"path": p, "sha256": h})
                          for p, h in zip(paths, flat.field("sha256").to_pylist())]
                paths = [Path(p).name for p in paths]
            else:
                images = [None] * len(paths)
            offsets = pc.subtract(refs.offsets, refs.offsets[0])
            values = pa.StructArray.from_arrays([pa.array(images, pa.binary()), pa.array(paths, pa.string())],
                                                names=["bytes", "path"])
            cols[name] = pa.ListArray.from_arrays(offsets, values, mask=refs.is_null() if refs.null_count else None)
        else:
            cols[name] = rows.column(name)
    return pa.table(cols).cast(feats.arrow_schema)


def _shards(sizes: list[int], max_bytes: int, max_rows: int | None = None) -> list[list[int]]:
    """Consecutive row indexes cut where the next row would pass max_bytes (or max_rows)."""
    shards, cur, cur_bytes = [], [], 0
    for i, n in enumerate(sizes):
        if cur and (cur_bytes + n > max_bytes or (max_rows is not None and len(cur) >= max_rows)):
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append(i)
        cur_bytes += n
    shards.append(cur)  # an empty config still gets one (empty) shard, so load_dataset finds its files
    return shards


def export_hf(release_dir: str | Path, out_dir: str | Path, config: Config, *,
              max_shard_bytes: int = 256 * 1024 * 1024, overwrite: bool = False,
              manifest_sha256: str | None = None) -> dict:
    """Write the HF dataset folder for a verified release (against its releases row's manifest_sha256 when
    given); returns the export manifest."""
    release_dir, out_dir = Path(release_dir), Path(out_dir)
    manifest = verify_release(release_dir, expected_manifest_sha256=manifest_sha256)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise ExportError(f"{out_dir} is not empty; pass --overwrite or choose another folder")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # the pid ends the name: recovery removes tmp folders of dead processes only
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}-{os.getpid()}"
    tmp.mkdir()
    embed = config.release.embed_images
    files = []
    infos: dict[str, dict] = {}
    old = None
    try:
        for cfg in CONFIGS:
            table = pq.read_table(release_dir / manifest["configs"][cfg]["files"][0])
            feats = features_for(table.schema)
            sizes = [0] * table.num_rows
            if embed:
                media_dir = str(config.path("media_dir"))
                for c in IMAGE_COLUMNS:
                    for i, refs in enumerate(table.column(c).to_pylist()):
                        sizes[i] += sum(_file_size(os.path.join(media_dir, m["path"])) for m in refs)
            shards = _shards(sizes, max_shard_bytes)
            infos[cfg] = {"features": feats, "rows": table.num_rows, "num_bytes": 0, "download_size": 0}
            (tmp / "data" / cfg).mkdir(parents=True)
            for k, idx in enumerate(shards):
                rel = f"data/{cfg}/{SPLIT}-{k:05d}-of-{len(shards):05d}.parquet"
                # one row group at a time: memory holds one group's images, not a shard's, and a reader too
                with pq.ParquetWriter(tmp / rel, feats.arrow_schema, compression="zstd") as writer:
                    groups = [[idx[j] for j in g] for g in _shards([sizes[i] for i in idx], ROW_GROUP_BYTES,
                                                                    ROW_GROUP)]
                    for part in groups:  # an empty shard: one empty table
                        t = _export_rows(table.slice(part[0], len(part)) if part else table.slice(0, 0), feats,
                                         config, embed)
                        writer.write_table(t, row_group_size=max(1, len(part)))
                        infos[cfg]["num_bytes"] += t.nbytes
                files.append({"path": rel, "rows": len(idx), "config": cfg})
                infos[cfg]["download_size"] += (tmp / rel).stat().st_size
        (tmp / "README.md").write_text(dataset_card(manifest, config, files, infos, embedded=embed),
                                       encoding="utf-8")
        files.append({"path": "README.md", "rows": None, "config": None})
        for f in files:
            p = tmp / f["path"]
            f["sha256"], f["size"] = sha256_file(p), p.stat().st_size
        export_manifest = {"version": manifest["version"], "release_manifest": manifest,
                           "release_manifest_sha256": sha256_file(release_dir / "manifest.json"),
                           "images_embedded": embed, "files": files}
        (tmp / EXPORT_MANIFEST).write_text(json.dumps(export_manifest, indent=2, sort_keys=True) + "\n",
                                           encoding="utf-8")
        journal.fsync_tree(tmp)
        killpoint("export.tmp_written")
        if out_dir.exists():  # moved aside, not deleted, until the new export is in place
            old = out_dir.parent / f".{out_dir.name}.tmp-old{uuid.uuid4().hex[:8]}-{os.getpid()}"
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        journal.fsync_path(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not out_dir.exists():
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    killpoint("export.after_rename")
    return export_manifest


def _refs_column(col: str) -> str:
    return col.replace("_images", "_image_refs")


def export_content_hash(out_dir: str | Path, doc: dict) -> str:
    """The release content hash recomputed from an export's shards (image refs stand for the images)."""
    out_dir = Path(out_dir)

    def release_rows(cfg: str, names: list[str]):
        read = [_refs_column(n) if n in IMAGE_COLUMNS else n for n in names]
        for f in doc["files"]:
            if f.get("config") == cfg:
                for r in iter_rows(out_dir / f["path"], read):
                    yield {n: r[c] for n, c in zip(names, read)}

    return rows_hash({cfg: release_rows(cfg, list(info["schema"]["properties"]))
                      for cfg, info in doc["release_manifest"]["configs"].items()})


def embedded_image_problems(out_dir: str | Path, doc: dict, configs=CONFIGS) -> list[str]:
    """Every embedded image whose bytes do not match the sha256 of its ref (a swapped image)."""
    out_dir = Path(out_dir)
    problems = []
    for f in doc["files"]:
        if f.get("config") not in configs:
            continue
        cols = ["id", *IMAGE_COLUMNS, *(_refs_column(c) for c in IMAGE_COLUMNS)]
        for r in iter_rows(out_dir / f["path"], cols, batch_size=8):  # a few rows' images at a time
            for col in IMAGE_COLUMNS:
                for i, (img, ref) in enumerate(zip(r[col], r[_refs_column(col)])):
                    if img["bytes"] is not None and hashlib.sha256(img["bytes"]).hexdigest() != ref["sha256"]:
                        problems.append(f"{f['path']}: row {r['id']} {col}[{i}]: embedded image does not match "
                                        f"its sha256 {ref['sha256']} (swapped)")
    return problems


def verify_export(out_dir: str | Path, *, expected_content_hash: str | None = None,
                  image_configs=CONFIGS) -> dict:
    """Recompute the checksums, the content hash and the sha256 of every embedded image of image_configs;
    raise ExportError naming each changed, missing or extra file, or swapped image."""
    out_dir = Path(out_dir)
    p = out_dir / EXPORT_MANIFEST
    if not p.is_file():
        raise ExportError(f"{out_dir} is not an echo Hugging Face export ({EXPORT_MANIFEST} missing)")
    doc = json.loads(p.read_text(encoding="utf-8"))
    problems = []
    listed = {f["path"] for f in doc["files"]}
    for f in doc["files"]:
        fp = out_dir / f["path"]
        if not fp.is_file():
            problems.append(f"{f['path']}: missing")
            continue
        got = sha256_file(fp)
        if got != f["sha256"]:
            problems.append(f"{f['path']}: sha256 expected {f['sha256']}, got {got}")
    for fp in sorted(out_dir.rglob("*")):
        rel = fp.relative_to(out_dir).as_posix()
        if fp.is_file() and rel != EXPORT_MANIFEST and rel not in listed and not rel.startswith(".cache/"):
            problems.append(f"{rel}: extra file not in {EXPORT_MANIFEST}")
    if not problems:  # every shard is as listed: check what the listing cannot, the rows and the images
        got = export_content_hash(out_dir, doc)
        claimed = doc["release_manifest"]["content_hash"]
        if got != claimed:
            problems.append(f"rows hash to {got}, the release manifest says {claimed}")
        if expected_content_hash and got != expected_content_hash:
            problems.append(f"content hash {got}, but the database's releases row says {expected_content_hash}")
        problems += embedded_image_problems(out_dir, doc, image_configs)
    if problems:
        raise ExportError(f"export {out_dir} failed verification:\n  " + "\n  ".join(problems), problems)
    return doc


def _license_id(text: str) -> str:
    t = text.strip().lower()
    return t if t and " " not in t and ";" not in t else "other"


def card_metadata(manifest: dict, infos: dict[str, dict], *, embedded: bool) -> dict:
    """The card's YAML front matter: licence, tags, `configs` (each naming this export's identity) and
    `dataset_info` (features and split sizes of the data as written)."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict

    lic = manifest["settings"]["license"]
    meta: dict[str, Any] = {"license": _license_id(lic)}
    if _license_id(lic) == "other":
        meta.update(license_name="echo-release", license_details=lic)
    meta.update(task_categories=["text-to-image", "image-to-image"], language=["en"],
                tags=["benchmark", "image-generation", "echo"], pretty_name=f"echo {manifest['version']}")
    identity = export_identity(manifest, embedded)
    meta["configs"] = [{"config_name": cfg, "description": identity,
                        "data_files": [{"split": SPLIT, "path": f"data/{cfg}/*.parquet"}],
                        **({"default": True} if cfg == "text_to_image" else {})} for cfg in CONFIGS]
    dataset_infos = {}
    for cfg in CONFIGS:
        splits = SplitDict()
        splits.add(SplitInfo(name=SPLIT, num_bytes=infos[cfg]["num_bytes"], num_examples=infos[cfg]["rows"]))
        dataset_infos[cfg] = DatasetInfo(features=infos[cfg]["features"], splits=splits,
                                         download_size=infos[cfg]["download_size"],
                                         dataset_size=infos[cfg]["num_bytes"])
    DatasetInfosDict(dataset_infos).to_dataset_card_data(meta)
    return meta


def dataset_card(manifest: dict, config: Config, files: list[dict], infos: dict[str, dict], *,
                 embedded: bool) -> str:
    import yaml

    counts = manifest["counts"]
    lic = manifest["settings"]["license"]
    meta = card_metadata(manifest, infos, embedded=embedded)
    front = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000).rstrip("\n"), "---"]
    coll = manifest["collection"]
    per_platform = {}
    for cfg_counts in counts["per_platform"].values():
        for p, n in cfg_counts.items():
            per_platform[p] = per_platform.get(p, 0) + n
    f = config.filter
    lines = front + [
        "",
        f"# echo {manifest['version']}",
        "",
        "A benchmark of image-generation prompts mined from what people post about a new model, built by the "
        "open `echo` pipeline after the ECHO paper. Every row is a sample extracted from a public post tree: the "
        "prompt, the input images (image-to-image), the output images the poster shared and the community's "
        "feedback on them.",
        "",
        "## Configs",
        "",
        "| config | rows | what |",
        "|---|---:|---|",
        f"| text_to_image | {counts['per_config']['text_to_image']} | benchmark prompts without input images |",
        f"| image_to_image | {counts['per_config']['image_to_image']} | benchmark prompts with input images |",
        f"| analysis | {counts['per_config']['analysis']} | other usable samples: commentary, questions, incomplete tasks (not for scoring) |",
        "",
        "```python",
        "from datasets import load_dataset",
        f"ds = load_dataset(\"<this repo or folder>\", \"text_to_image\", split=\"{SPLIT}\")",
        "ds[0][\"output_images\"][0]  # PIL image",
        "```",
        "",
        "## Sources and collection",
        "",
        f"- Platforms: {', '.join(f'{p} ({n})' for p, n in sorted(per_platform.items())) or 'none'}",
        f"- Posts published between {coll['first_post'] or 'n/a'} and {coll['last_post'] or 'n/a'} (UTC).",
        f"- Target model: {f.target_model}. Runs: {len(manifest['source_runs'])} pipeline run(s) "
        f"({', '.join(manifest['source_runs'][:5])}{' ...' if len(manifest['source_runs']) > 5 else ''}).",
        "",
        "## Filters",
        "",
        f"- Cheap filters: the post tree names the model (keywords: {', '.join(f.keywords[:8])}...), at least "
        f"{f.min_text_chars} characters of text.",
        f"- LLM relevance score of at least {f.relevance_threshold} on a 1-5 scale.",
        "- Extraction into samples by an LLM (or the offline rule-based extractor, see `provenance`).",
        "- Benchmark configs: quality `benchmark`, a prompt, a known task, accepted by the extractor or by manual "
        "review; image_to_image also needs an input image. One sample per near-duplicate group (text embeddings "
        "and perceptual image hashes); no duplicate group spans two configs.",
        f"- NSFW samples {'are included (flagged in `has_nsfw`)' if manifest['settings']['include_nsfw'] else 'are left out'}.",
        "- Samples in an earlier version's benchmark configs stay unless removed on purpose (see CHANGELOG in the "
        "release folder).",
        "",
        "## Counts",
        "",
        "| config | " + " | ".join(sorted(per_platform)) + " |",
        "|---|" + "---:|" * len(per_platform),
    ]
    for cfg in CONFIGS:
        lines.append(f"| {cfg} | " + " | ".join(str(counts["per_platform"][cfg].get(p, 0)) for p in sorted(per_platform)) + " |")
    top = sorted((c for c in counts["per_cluster"] if c["cluster_id"] not in (None, -1)), key=lambda c: -c["rows"])[:10]
    if top:
        lines += ["", "Largest topic clusters: " + "; ".join(f"{c['label'] or c['cluster_id']} ({c['rows']})" for c in top) + "."]
    if counts["excluded"]:
        lines += ["", "Left out: " + ", ".join(f"{k} {v}" for k, v in counts["excluded"].items()) + "."]
    lines += [
        "",
        "## Privacy",
        "",
        "Author handles are replaced by salted HMAC-SHA256 pseudonyms (`author`, `community_feedback.author`). "
        + ("Post and image URLs are kept." if manifest["settings"]["keep_urls"] else "Post and image URLs are removed.")
        + " To have a post or account removed, open an issue: takedowns are applied to the next version.",
        "",
        "## License",
        "",
        lic,
        "",
        "## Known limitations",
        "",
        "- Posts are what people chose to share: successes and striking failures are over-represented, and the "
        "mix of platforms and languages follows who posts, not a designed distribution.",
        "- Prompts may be paraphrased or stitched from several posts (`prompt_modified`); blanks in template prompts "
        "were filled (`prompt_fill_blank` keeps the template).",
        "- Images cut from chat screenshots (`is_screenshot`) are crops and may carry interface artifacts.",
        "- Labels (task, quality, feedback polarity and categories) come from an automatic extractor and can be wrong.",
        "- Output images are the poster's outputs of the target model, not a reference: score new models against the prompt.",
        "",
        "## Versions",
        "",
        f"This is version `{manifest['version']}`" + (f", following `{manifest['parent_version']}`." if manifest["parent_version"] else ", the first release.")
        + f" Release content hash (sha256 over the rows) `{manifest['content_hash']}`: pin it with "
        f"`echo.load(..., content_hash=...)`. Config hash `{manifest['config_hash']}`, code version "
        f"`{manifest['code_version']}`.",
        "",
        "## Citation",
        "",
        "```bibtex",
        "@misc{echo_bench,",
        "  title = {echo: a living benchmark mined from posts about image-generation models},",
        f"  note = {{version {manifest['version']}}},",
        "}",
        "@article{ge2025echo,",
        "  title = {Constantly Improving Image Models Need Constantly Improving Benchmarks},",
        "  author = {Ge and Luo and others},",
        "  year = {2025},",
        "}",
        "```",
        "",
    ]
    return "\n".join(lines)


def push_to_hub(out_dir: str | Path, repo_id: str, version: str, *, token: str | None = None, private: bool = True,
                dry_run: bool = False, api: Any = None) -> list[str]:
    """Upload an export folder to a dataset repo and tag the commit with the version.

    The token comes from $HF_TOKEN; the hub address from $HF_ENDPOINT (huggingface_hub's own setting).
    Returns the operations, which --dry-run only prints.
    """
    out_dir = Path(out_dir)
    doc = verify_export(out_dir)
    if doc["version"] != version:
        raise ExportError(f"{out_dir} holds version {doc['version']}, not {version}")
    ops = [f"create_repo {repo_id} (dataset, private={private}, exist_ok)",
           f"upload_folder {out_dir} -> {repo_id} ({len(doc['files']) + 1} files)",
           f"create_tag {repo_id} tag={version} at the upload commit"]
    if dry_run:
        return ops
    token = token or os.environ.get("HF_TOKEN")
    if not token and api is None:
        raise ExportError("pushing needs a token: set HF_TOKEN")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(repo_id=repo_id, folder_path=str(out_dir), repo_type="dataset",
                             commit_message=f"echo release {version}")
    revision = getattr(info, "oid", None)
    api.create_tag(repo_id, tag=version, revision=revision, repo_type="dataset",
                   tag_message=f"echo release {version}")
    return ops
