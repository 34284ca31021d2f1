"""The LLM chain (relevance, tree-to-samples, image roles, screenshots, fill-in-the-blank, benchmark filter, feedback)
behind one backend interface: an OpenAI-compatible client, or the offline rule-based backend."""
