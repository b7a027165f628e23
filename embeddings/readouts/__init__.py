"""Reading readouts: corpus files -> parsed readouts and their numbered points."""
