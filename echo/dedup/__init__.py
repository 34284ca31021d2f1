"""Embeddings, deduplication, clustering and the embedding relevance pre-filter."""
