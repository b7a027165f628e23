"""The index: each point's units, its BM25 text, the vectors, the stored table, the build."""
