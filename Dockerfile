# Runs the main job (echo-bench refresh) on the bundled sample corpus, offline.
#   docker build -t echo-bench .
#   docker run --rm -v "$PWD/data-out:/app/data/out" echo-bench
# Real runs: mount an echo.toml (ECHO_CONFIG) and pass credentials as environment variables.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /app

# CPU-only torch first: an unpinned torch would pull several GB of CUDA packages.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY echo ./echo
COPY flows ./flows
COPY schemas ./schemas
RUN pip install .

COPY echo.toml ./
COPY data/samples ./data/samples
COPY data/reference_prompts ./data/reference_prompts

# The image runs the pipeline from the installed wheel (schemas come from package data).
CMD ["echo-bench", "refresh", "--quiet"]
