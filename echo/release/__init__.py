"""Frozen, versioned releases, their verification and diffs, Hugging Face exports, and the scorers' loader."""
