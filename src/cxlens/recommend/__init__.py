"""cxlens.recommend."""
