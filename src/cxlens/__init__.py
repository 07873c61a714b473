"""cxlens: a self-hostable customer-experience platform.

Collect every interaction, unify it into one profile per person, learn from it, and act on it —
with consent and privacy built in.
"""

from cxlens.config import Settings, load_settings
from cxlens.errors import CxlensError
from cxlens.store import Store

__version__ = "0.1.0"
__all__ = ["CxlensError", "Settings", "Store", "load_settings", "__version__"]
