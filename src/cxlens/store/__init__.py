"""The one storage boundary: only this package talks to the database driver."""

from cxlens.store.db import Store

__all__ = ["Store"]
