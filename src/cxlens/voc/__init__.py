"""cxlens.voc."""
