"""The readout engine: corpus files -> parsed readouts and points -> index -> search -> answers.

Kept free of heavy imports: torch and sentence-transformers load only when a model is needed.
"""
