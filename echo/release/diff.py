"""What changed between two releases, per config, by sample id; rendered as CHANGELOG.md.

changed = same id, different prompt, images (by sha256) or labels (task, quality, nsfw, screenshot).
Samples removed by a takedown are counted, never named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from echo.release.rows import BENCHMARK_CONFIGS, CONFIGS

COMPARED = ("prompt", "prompt_modified", "prompt_fill_blank", "task", "input_images", "output_images",
            "quality", "has_nsfw", "is_screenshot", "input_boxes")


def fingerprint(row: dict) -> dict:
    out = {}
    for k in COMPARED:
        if k not in row:
            continue
        v = row[k]
        if k in ("input_images", "output_images"):
            v = [m["sha256"] for m in v or []]
        out[k] = v
    return out


def read_rows(release_dir: Path, manifest: dict) -> dict[str, dict[str, dict]]:
    """{config: {id: fingerprint}} of a release folder, read through its manifest."""
    out: dict[str, dict[str, dict]] = {}
    for cfg, info in manifest["configs"].items():
        rows: dict[str, dict] = {}
        for f in info["files"]:
            names = pq.read_schema(release_dir / f).names
            for r in pq.read_table(release_dir / f, columns=[c for c in ("id", *COMPARED) if c in names]).to_pylist():
                rows[r["id"]] = fingerprint(r)
        out[cfg] = rows
    return out


@dataclass
class ConfigDiff:
    added: list[tuple[str, str]] = field(default_factory=list)       # (id, note)
    removed: list[tuple[str, str]] = field(default_factory=list)     # (id, reason), takedowns excluded
    removed_by_takedown: int = 0
    added_unnamed: int = 0  # in the newer side but taken down since: counted, never named
    changed: list[tuple[str, list[str]]] = field(default_factory=list)
    kept: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added) + self.added_unnamed, "removed": len(self.removed) + self.removed_by_takedown,
                "removed_by_takedown": self.removed_by_takedown, "changed": len(self.changed), "kept": self.kept}


@dataclass
class ReleaseDiff:
    old_version: str | None
    new_version: str
    configs: dict[str, ConfigDiff]

    def summary(self) -> dict[str, dict[str, int]]:
        return {c: d.summary() for c, d in self.configs.items()}


def diff_rows(old: dict[str, dict[str, dict]], new: dict[str, dict[str, dict]], *, old_version: str | None,
              new_version: str, reasons: dict[str, str] | None = None,
              taken_down: Callable[[str], bool] | None = None) -> ReleaseDiff:
    reasons = reasons or {}
    where_new = {sid: c for c, rows in new.items() for sid in rows}
    where_old = {sid: c for c, rows in old.items() for sid in rows}
    out = {}
    for cfg in CONFIGS:
        o, n = old.get(cfg, {}), new.get(cfg, {})
        d = ConfigDiff()
        for sid in sorted(n.keys() - o.keys()):
            if taken_down is not None and taken_down(sid):
                d.added_unnamed += 1
                continue
            d.added.append((sid, f"from {where_old[sid]}" if sid in where_old else "new"))
        for sid in sorted(o.keys() - n.keys()):
            if sid in where_new:
                d.removed.append((sid, f"moved to {where_new[sid]}"
                                  + (f" ({reasons[sid]})" if sid in reasons else "")))
            elif taken_down is not None and taken_down(sid):
                d.removed_by_takedown += 1
            else:
                d.removed.append((sid, reasons.get(sid, f"not in {new_version}")))
        for sid in sorted(o.keys() & n.keys()):
            fields = [k for k in COMPARED if o[sid].get(k) != n[sid].get(k)]
            if fields:
                d.changed.append((sid, fields))
            else:
                d.kept += 1
        out[cfg] = d
    return ReleaseDiff(old_version, new_version, out)


def render_markdown(diff: ReleaseDiff, counts: dict[str, int] | None = None, *,
                    content_hash: str | None = None) -> str:
    lines = [f"# echo {diff.new_version}", ""]
    if content_hash:
        lines += [f"Content hash (sha256 over the rows; pin it with `echo.load(..., content_hash=...)`): "
                  f"`{content_hash}`", ""]
    if diff.old_version is None:
        lines += ["First release: no parent version.", ""]
    else:
        lines += [f"Changes against {diff.old_version}. Benchmark samples stay in later versions unless removed "
                  "on purpose (takedown, review rejection, correction); every such removal is listed below.", ""]
    lines += ["| config | rows | added | removed | of which by takedown | changed | unchanged |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for cfg, d in diff.configs.items():
        s = d.summary()
        rows = counts.get(cfg, "") if counts else ""
        lines.append(f"| {cfg} | {rows} | {s['added']} | {s['removed']} | {s['removed_by_takedown']} | "
                     f"{s['changed']} | {s['kept']} |")
    lines.append("")
    for cfg, d in diff.configs.items():
        if not (d.added or d.removed or d.removed_by_takedown or d.changed or d.added_unnamed):
            continue
        lines += [f"## {cfg}", ""]
        if d.removed_by_takedown:
            n = d.removed_by_takedown
            lines += [f"{n} sample{'s' if n != 1 else ''} removed by takedown.", ""]
        if d.added_unnamed:
            n = d.added_unnamed
            lines += [f"{n} added sample{'s' if n != 1 else ''} not named: taken down since.", ""]
        if d.removed:
            kind = "benchmark " if cfg in BENCHMARK_CONFIGS else ""
            lines += [f"### Removed {kind}samples", ""] + [f"- `{sid}`: {why}" for sid, why in d.removed] + [""]
        if d.added:
            lines += ["### Added", ""] + [f"- `{sid}` ({note})" for sid, note in d.added] + [""]
        if d.changed:
            lines += ["### Changed", ""] + [f"- `{sid}`: {', '.join(f)}" for sid, f in d.changed] + [""]
    return "\n".join(lines).rstrip() + "\n"
