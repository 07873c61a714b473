"""HTTP routes of the quality room."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
