"""cxlens.features."""
