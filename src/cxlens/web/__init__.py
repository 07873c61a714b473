"""cxlens.web."""
