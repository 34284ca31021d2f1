"""Copy the earlier benchmarks' prompt sets from ../shared/reference_prompts into data/reference_prompts.

Keeps only the prompt text (one JSON object per line: {"dataset", "prompt", "category"}) so the report and
notebooks can put mined prompts on the same map as PartiPrompts, GenEval and DiffusionDB. Run once; the
output is committed with its licenses (data/reference_prompts/LICENSES.md).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT.parent / "shared" / "reference_prompts"
OUT = ROOT / "data" / "reference_prompts"


def rows() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"partiprompts": [], "geneval": [], "diffusiondb": []}
    with open(SRC / "partiprompts" / "PartiPrompts.tsv", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            out["partiprompts"].append({"prompt": r["Prompt"].strip(), "category": r["Category"]})
    with open(SRC / "geneval" / "evaluation_metadata.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out["geneval"].append({"prompt": r["prompt"].strip(), "category": r["tag"]})
    seen = set()
    for name in ("benchmark-prompts.json", "test.json", "refl_data.json"):
        for r in json.loads((SRC / "imagereward_diffusiondb" / name).read_text(encoding="utf-8")):
            p = (r.get("prompt") or r.get("text") or "").strip()
            if p and p not in seen:
                seen.add(p)
                out["diffusiondb"].append({"prompt": p, "category": None})
    return out


def main() -> int:
    if not SRC.is_dir():
        print(f"{SRC} not found", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for dataset, items in rows().items():
        with open(OUT / f"{dataset}.jsonl", "w", encoding="utf-8") as f:
            for r in items:
                f.write(json.dumps({"dataset": dataset, **r}, ensure_ascii=False) + "\n")
        print(dataset, len(items))
    return 0


if __name__ == "__main__":
    sys.exit(main())
