"""cxlens.identity."""
