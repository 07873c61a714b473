"""cxlens.journeys."""
