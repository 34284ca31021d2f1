"""Cheap filters that run before any LLM call."""
