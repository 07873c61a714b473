"""HTTP routes of the privacy room."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
