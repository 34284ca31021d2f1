"""The realistic evaluation corpus `tests/data/realistic/`: the 100 real prompts of ../shared/realprompts
(CC-BY-4.0) wrapped in generated post trees, with an answer key.

    python -m scripts.realistic            # writes tests/data/realistic
    python -m scripts.realistic --out DIR  # writes elsewhere (the test regenerates into a tmp dir)

Modules: prompts (the real prompts and their properties), phrases (every phrase around them, split into dev and
test halves), scenarios (one function per tree shape, and build), corpus (files, answer key, README, main). The
tree model, drawing, ids and platform renderers are those of scripts/samples.
"""
