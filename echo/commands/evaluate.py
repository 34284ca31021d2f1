"""`echo-bench evaluate` (a corpus against its answer key, per pattern, split and backend) and
`echo-bench evaluate-extractor` (the stored extraction against the sample corpus's key): echo.evaluate scores."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from echo import evaluate as ev
from echo.commands import open_store
from echo.evaluate import AnswerKeyError, corpus_table, load_answers, score_corpus, write_report
from echo.store import Store


SKIPPED_STAGES = ("cluster", "freeze", "publish", "report")


class EvaluateError(ValueError):
    """A corpus or backend that cannot be evaluated (clear message for the CLI)."""


def run_corpus(config, corpus: Path, answers: dict[str, Any], backend: str, workdir: Path) -> Store:
    """Import `corpus` into a fresh database under `workdir` and run crawl..dedup on it; the open store."""
    import copy
    import dataclasses

    from echo import pipeline
    from echo.config import SourceConfig

    if backend not in ("rules", "llm"):
        raise EvaluateError(f"unknown backend {backend!r}: rules or llm")
    cfg = copy.deepcopy(config)
    cfg.base_dir = str(workdir)
    for f in dataclasses.fields(cfg.paths):
        setattr(cfg.paths, f.name, str(workdir / f.name))
    cfg.paths.db = str(workdir / "echo.duckdb")
    cfg.paths.samples_dir = str(corpus)
    cfg.sources = [SourceConfig(name="corpus", kind="import", paths=[str(corpus)])]
    prefix = answers.get("media_url_prefix")
    cfg.media.url_map = {prefix: str(corpus / "media") + "/"} if prefix else {}
    if backend == "rules":
        cfg.llm.base_url = ""
    elif not (cfg.llm.base_url or "").strip():
        raise EvaluateError("--backend llm needs an OpenAI-compatible endpoint: set ECHO_LLM_BASE_URL")
    store = Store(cfg.path("db"))
    pipeline.refresh(cfg, store, skip=SKIPPED_STAGES)
    return store


def cmd_evaluate_corpus(args, config) -> int:
    corpus = Path(args.corpus) if args.corpus else None
    answers_path = Path(args.answers) if args.answers else (corpus / "answers.json" if corpus
                                                            else config.path("samples_dir") / "answers.json")
    try:
        answers = load_answers(answers_path)
        if corpus is not None:
            if not corpus.is_dir():
                raise EvaluateError(f"{corpus} is not a folder")
            with tempfile.TemporaryDirectory(prefix="echo-evaluate-") as tmp:
                store = run_corpus(config, corpus.resolve(), answers, args.backend, Path(tmp))
                try:
                    report = score_corpus(store, answers, threshold=config.filter.relevance_threshold)
                finally:
                    store.close()
            report["backend"] = args.backend if args.backend == "rules" else f"llm {config.llm.model}"
            report["corpus"] = str(corpus)
        else:
            if args.db:
                config.paths.db = str(Path(args.db).resolve())
            with open_store(config, read_only=True) as store:
                report = score_corpus(store, answers, threshold=config.filter.relevance_threshold)
            report["db"] = str(config.path("db"))
    except (AnswerKeyError, EvaluateError) as e:
        print(f"echo-bench evaluate: {e}", file=sys.stderr)
        return 2
    report["answers"] = str(answers_path)
    out = Path(args.out) if args.out else config.path("reports_dir") / "corpus_eval.json"
    write_report(report, out)
    if args.json:
        print(json.dumps(report, indent=2, default=str, ensure_ascii=False))
    else:
        print(corpus_table(report))
        print(f"report: {out}")
    return 0


def register(sub) -> None:
    e = sub.add_parser("evaluate", help="score a corpus with an answer key: prompts, relevance, feedback, duplicates",
                       description="With CORPUS_DIR: import it into a fresh temporary database, run crawl..dedup and "
                                   "score it. Without: score an existing database (--db) against --answers.")
    e.add_argument("corpus", nargs="?", help="corpus folder (platform subfolders, media/, answers.json)")
    e.add_argument("--answers", help="answer key (default: CORPUS_DIR/answers.json, else <samples_dir>/answers.json)")
    e.add_argument("--db", help="database to score when no CORPUS_DIR is given (default: the configured one)")
    e.add_argument("--backend", choices=("rules", "llm"), default="rules",
                   help="extraction backend for a fresh run: rules (offline) or llm (ECHO_LLM_BASE_URL)")
    e.add_argument("--out", help="report file (default: <reports_dir>/corpus_eval.json)")
    e.add_argument("--json", action="store_true", help="print the whole report as JSON")
    e.set_defaults(func=cmd_evaluate_corpus)

    e = sub.add_parser("evaluate-extractor", help="precision/recall of stored extraction vs the sample corpus answer key")
    e.add_argument("--answers", help="answer key (default: <samples_dir>/answers.json)")
    e.add_argument("--out", help="report file (default: <reports_dir>/extractor_eval.json)")
    e.add_argument("--json", action="store_true", help="print the whole report as JSON")
    e.set_defaults(func=cmd_evaluate_extractor)


def cmd_evaluate_extractor(args: argparse.Namespace, config) -> int:
    answers_path = Path(args.answers) if args.answers else config.path("samples_dir") / "answers.json"
    try:
        answers = ev.load_answers(answers_path)
    except ev.AnswerKeyError as e:
        print(f"echo-bench evaluate-extractor: {e}", file=sys.stderr)
        return 2
    with open_store(config, read_only=True) as store:
        report = ev.evaluate(store, answers, threshold=config.filter.relevance_threshold)
    report["answers"] = str(answers_path)
    out = Path(args.out) if args.out else config.path("reports_dir") / "extractor_eval.json"
    ev.write_report(report, out)
    if args.json:
        print(json.dumps(report, indent=2, default=str, ensure_ascii=False))
        return 0
    print(f"{report['trees_stored']}/{report['trees']} trees stored, {report['samples_stored']} samples "
          f"(expected {report['samples_expected']}); extractor: {', '.join(report['extractors']) or '-'}")
    print(f"{'metric':<22}{'precision':>10}{'recall':>8}")
    for name, p, r, extra in ev.summary_rows(report):
        print(f"{name:<22}{p:>10.3f}{r:>8.3f}  {extra}")
    print(f"report: {out}")
    return 0
