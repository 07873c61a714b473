"""cxlens.predict."""
