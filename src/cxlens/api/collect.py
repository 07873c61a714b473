"""HTTP routes of the collect room."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
