"""cxlens.decide."""
