"""Growing a corpus: fetching pages, extracting readouts, adding them, following feeds."""
