"""HTTP routes of the profiles room."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
