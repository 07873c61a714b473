"""cxlens.segments."""
