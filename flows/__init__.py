"""Prefect orchestration of the echo pipeline. Logic lives in the echo library; this only schedules and retries."""
