"""Search: reading a question, ranking points, and the answers built on it (timelines, topics)."""
