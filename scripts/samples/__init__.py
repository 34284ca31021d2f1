"""Write the bundled, synthetic sample corpus `data/samples/` and its answer key.

The corpus is post trees about image-generation models in the NATIVE response formats of four
platforms (Bluesky getPostThread, Reddit /comments/<id>.json, Mastodon status lists + /context,
X API v2 search pages), small Pillow-drawn images in media/, and answers.json: what the pipeline
should find in each tree (relevance, samples, feedback, duplicate groups).

Reproducible: a fixed seed, no wall clock, no system fonts (Pillow's bundled font), sorted output,
so two runs with the same Pillow give byte-identical files.

    python scripts/make_samples.py            # writes data/samples
    python scripts/make_samples.py --out DIR  # writes elsewhere (the test regenerates into a tmp dir)

Modules: model (the tree model), content (prompt and reply banks), drawing (images), builder (authors,
times, feedback), scenarios (one function per kind of tree, and build), ids (platform ids), render/ (one
renderer per platform), answers (the answer key), corpus (files on disk, README, main).
"""
