"""cxlens.profiles."""
