"""cxlens.demo."""
