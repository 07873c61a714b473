"""cxlens.privacy."""
