"""cxlens.experiments."""
