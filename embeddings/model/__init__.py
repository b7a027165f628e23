"""The sentence-transformers model: encoding points at build time, questions at question time."""
