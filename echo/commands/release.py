"""echo-bench freeze | verify | diff | export | forget | releases."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from echo.commands import open_store


def _err(msg: str) -> int:
    print(f"echo-bench: {msg}", file=sys.stderr)
    return 1


def cmd_freeze(args, config) -> int:
    from echo.release.freeze import ReleaseError, freeze

    with open_store(config) as store:
        try:
            res = freeze(store, config, args.version)
        except ReleaseError as e:
            return _err(str(e))
    m = res.manifest
    print(f"froze {res.version} at {res.path}")
    print("rows: " + ", ".join(f"{k}={v}" for k, v in m["counts"]["per_config"].items())
          + (f"; parent {m['parent_version']}" if m["parent_version"] else ""))
    return 0


def _release_dir(config, version: str) -> Path:
    p = Path(version)
    return p if p.is_dir() and (p / "manifest.json").exists() else config.path("releases_dir") / version


def cmd_verify(args, config) -> int:
    from echo.release.verify import ReleaseIntegrityError, verify_release

    folder = _release_dir(config, args.version)
    expected = None
    if config.path("db").exists():
        try:
            with open_store(config, read_only=True) as store:
                rows = store.query("SELECT manifest_sha256, content_hash FROM releases WHERE version = ?",
                                   [folder.name])
                expected = rows[0] if rows else None
        except Exception:  # noqa: BLE001 - a locked database (a refresh running) still lets the files be checked
            print("echo-bench: database busy: checking the files against manifest.json only", file=sys.stderr)
    try:
        m = verify_release(folder, expected_manifest_sha256=expected and expected["manifest_sha256"],
                           expected_content_hash=expected and expected["content_hash"])
    except ReleaseIntegrityError as e:
        print(f"echo-bench: VERIFY FAILED for {folder}", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{m['version']}: OK ({len(m['files'])} files, content {m['content_hash'][:16]}"
          + (", manifest matches the database" if expected else "") + ")")
    return 0


def cmd_diff(args, config) -> int:
    from echo.release import diff as diffmod
    from echo.release.forget import taken_down_checker
    from echo.privacy import Pseudonymizer, load_salt
    from echo.release.verify import ReleaseIntegrityError, verify_release

    d1, d2 = _release_dir(config, args.old), _release_dir(config, args.new)
    try:
        m1, m2 = verify_release(d1), verify_release(d2)
    except ReleaseIntegrityError as e:
        return _err(str(e))
    if m2["parent_version"] == m1["version"] and args.out is None:
        # the parent pair's changelog was written at freeze time and is part of the release
        print((d2 / "CHANGELOG.md").read_text(encoding="utf-8"), end="")
        return 0
    old_rows, new_rows = diffmod.read_rows(d1, m1), diffmod.read_rows(d2, m2)
    checker = None
    if config.path("db").exists():
        # takedowns are matched by salted hash: resolve them now, while the database is open
        with open_store(config, read_only=True) as store:
            is_down = taken_down_checker(store, Pseudonymizer(load_salt(config)))
            every = {sid for rows in (*old_rows.values(), *new_rows.values()) for sid in rows}
            checker = {sid for sid in every if is_down(sid)}.__contains__
    res = diffmod.diff_rows(old_rows, new_rows, old_version=m1["version"],
                            new_version=m2["version"], taken_down=checker)
    text = diffmod.render_markdown(res, m2["counts"]["per_config"])
    out = Path(args.out) if args.out else config.path("releases_dir") / "diffs" / f"{m1['version']}..{m2['version']}.md"
    if out.resolve().is_relative_to(d2.resolve()) or out.resolve().is_relative_to(d1.resolve()):
        return _err(f"{out} is inside a frozen release folder; write the diff elsewhere")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"(written to {out})", file=sys.stderr)
    return 0


def cmd_export(args, config) -> int:
    from echo.release.hf import ExportError, export_hf, push_to_hub
    from echo.release.verify import ReleaseIntegrityError

    folder = _release_dir(config, args.version)
    out = Path(args.hf) if args.hf else config.path("exports_dir") / folder.name / "hf"
    try:
        if not (args.push and (out / "echo_release.json").exists() and not args.hf):
            doc = export_hf(folder, out, config, overwrite=args.overwrite)
            print(f"exported {doc['version']} to {out}: "
                  + ", ".join(f"{f['path']} ({f['rows']} rows)" for f in doc["files"] if f["rows"] is not None))
        if args.push:
            ops = push_to_hub(out, args.push, folder.name, private=not args.public, dry_run=args.dry_run)
            for op in ops:
                print(("[dry-run] " if args.dry_run else "") + op)
    except (ExportError, ReleaseIntegrityError) as e:
        return _err(str(e))
    return 0


def cmd_forget(args, config) -> int:
    from echo.erasure import forget_in_derived_files
    from echo.release.forget import ForgetError, forget

    what = dict(post=args.post, author=args.author, platform=args.platform, reason=args.reason)
    with open_store(config) as store:  # held open: no refresh publishes a snapshot or a report meanwhile
        try:
            res = forget(store, config, **what)
        except ForgetError as e:
            return _err(str(e))
        derived = forget_in_derived_files(config, res.traces, **what)
        size = store.compact() if res.posts else None
    print(f"forgot {len(res.posts)} post(s); removed: "
          + (", ".join(f"{t}={n}" for t, n in sorted(res.counts.items()) if n) or "nothing else")
          + f"; {res.keys_recorded} takedown key(s) recorded. The next release drops it; frozen releases are not rewritten.")
    if derived.snapshots:
        print(f"rewrote {len(derived.snapshots)} analyst snapshot(s) without it")
    if derived.reports_rebuilt:
        print(f"rebuilt the newest report ({derived.reports_rebuilt[0].name} and latest.html) without it")
    if size:
        print(f"compacted the database ({size[0] / 1e6:.1f} MB -> {size[1] / 1e6:.1f} MB): the deleted rows leave no "
              "bytes behind in the file")
    if derived.reports_deleted:
        print(f"deleted {len(derived.reports_deleted)} older run report(s) that showed it: "
              + ", ".join(p.name for p in derived.reports_deleted))
    if not res.posts:
        print("note: no stored post matched; the takedown is recorded so crawls and imports skip it", file=sys.stderr)
    return 0


def cmd_releases(args, config) -> int:
    if args.repair:
        from echo.release.recover import recover

        with open_store(config) as store:
            done = recover(store, config)
        for line in done:
            print(f"repaired: {line}")
        if not done:
            print("nothing to repair")
    with open_store(config, read_only=True) as store:
        rows = store.query("SELECT version, parent_version, created_at, content_hash, manifest, status FROM releases "
                           "ORDER BY created_at")
    for r in rows:
        counts = json.loads(r["manifest"])["counts"]["per_config"]
        print(f"{r['version']:<16} parent={r['parent_version'] or '-':<14} {r['created_at']:%Y-%m-%d %H:%M} "
              f"content={r['content_hash'][:16]} " + " ".join(f"{k}={v}" for k, v in counts.items())
              + ("  FOLDER MISSING" if r["status"] == "missing" else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("freeze", help="freeze the database into an immutable release folder")
    p.add_argument("--version", help="version name (default: today's date, e.g. 2026.11.22, then .2, .3)")
    p.set_defaults(func=cmd_freeze)

    p = sub.add_parser("verify", help="recompute every checksum of a release; non-zero exit on any change")
    p.add_argument("version", help="version name or release folder")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("diff", help="samples added, removed and changed between two releases")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--out", help="where to write the markdown (default: <releases_dir>/diffs/OLD..NEW.md; "
                                 "a parent pair prints the frozen CHANGELOG.md)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("export", help="Hugging Face dataset folder (images embedded), optionally pushed")
    p.add_argument("version")
    p.add_argument("--hf", metavar="DIR", help="output folder (default: <exports_dir>/<version>/hf)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--push", metavar="REPO", help="upload to this dataset repo and tag it with the version (HF_TOKEN)")
    p.add_argument("--public", action="store_true", help="create the repo public (default private)")
    p.add_argument("--dry-run", action="store_true", help="print the hub operations instead of running them")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("forget", help="takedown: remove a post or an author everywhere, and keep them out")
    p.add_argument("--post", metavar="URL|ID", help="post URL or platform id")
    p.add_argument("--author", metavar="HANDLE", help="author handle or id: every post of theirs")
    p.add_argument("--platform", help="limit the match to one platform")
    p.add_argument("--reason", help="free text kept with the takedown (do not put the handle here)")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("releases", help="list frozen releases")
    p.add_argument("--repair", action="store_true",
                   help="first finish or undo what a killed freeze or export left (tmp folders, a folder without "
                        "its row, a missing export)")
    p.set_defaults(func=cmd_releases)
