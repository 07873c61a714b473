"""Small trained artifacts shipped with cxlens (see README.md here for how each was trained)."""
