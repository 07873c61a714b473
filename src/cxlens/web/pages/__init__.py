"""Console pages, one module per area (see ``cxlens.web.app.PAGE_MODULES``)."""
