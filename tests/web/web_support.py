"""Helpers the console tests share: signing in over HTTP and reading CSRF tokens from pages."""

from __future__ import annotations

import re

import httpx

PASSWORD = "correct horse battery staple"


def login_token(client: httpx.Client) -> str:
    page = client.get("/login")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": login_token(client), "next": "/"}
    )


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
