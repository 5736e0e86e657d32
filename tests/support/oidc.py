"""A real OpenID provider for the single sign-on tests: npm's certified `oidc-provider` (a web/
devDependency) run by node from tests/support/oidc_provider.mjs on a port of the test run's range,
stopped by its pid. Its development login page signs in any login name; the claims are the test's.
Without node or the package the tests skip, saying which is missing, except under CI=true."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests

from tests.support.private_servers import stop_process

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
PACKAGE = ROOT / "web" / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID = "liftcase-console"
CLIENT_SECRET = "test-client-secret-that-is-long-enough-for-hs256"


def need_provider() -> str:
    """node's path; skips (fails under CI=true) when node or oidc-provider is missing."""
    node = shutil.which("node")
    missing = (
        "node is not on PATH" if node is None
        else f"the npm package oidc-provider is not installed ({PACKAGE} missing: cd web && npm ci)"
        if not PACKAGE.exists() else None
    )  # fmt: skip
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"single sign-on tests need a real OpenID provider: {missing}")
        pytest.skip(f"single sign-on tests need a real OpenID provider: {missing}")
    assert node is not None
    return node


class OidcProvider:
    """`oidc-provider` on 127.0.0.1:`port` with one confidential client whose redirect URIs are
    the app's, and `accounts` (login name -> claims)."""

    def __init__(self, node: str, port: int, app_base: str, accounts: dict[str, dict[str, Any]]) -> None:
        self.node, self.port = node, port
        self.issuer = f"http://127.0.0.1:{port}"
        self.dir = Path(tempfile.mkdtemp(prefix="liftcase-oidc-"))
        self.config = {
            "port": port,
            "client": {
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{app_base}/sso/callback"],
                "post_logout_redirect_uris": [f"{app_base}/console/signin"],
            },
            "accounts": accounts,
        }  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OidcProvider:
        (self.dir / "config.json").write_text(json.dumps(self.config))
        self.proc = subprocess.Popen(
            [self.node, str(SCRIPT), str(self.dir / "config.json")], cwd=ROOT,
            stdout=(self.dir / "log").open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"oidc-provider exited: {self.log()}")
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"oidc-provider did not answer in 60 s: {self.log()}")

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def sso_toml(issuer: str) -> str:
    """The settings a city would write (README "Single sign-on"): the platform's regulator and
    dispatcher roles, one organisation code that differs from ours."""
    return f"""
[provider]
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
name_zh = "城市一体化平台"
name_en = "City platform"
scopes = ["openid", "profile", "email", "org"]

[claims]
organisation = "org_code"
roles = "roles"

[organisations]
"DZ-SCJGJ-TONGCHUAN" = "REG-511702"

[roles]
"city.regulator" = ["regulator"]
"city.dispatcher" = ["dispatcher"]
"city.auditor" = ["auditor"]

[users]
provision = true
match_existing_by = "username"
"""


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"', re.I)


def callback_url(http: requests.Session, start_url: str, login: str) -> str:
    """Drive the browser's way out with `http`: our /sso/signin, the provider's login page (login
    name, any password) and consent page (when it asks), up to the provider's answer: the address
    of our callback with its code and state, not yet opened."""
    page = http.get(start_url, timeout=30, allow_redirects=False)
    for _ in range(12):
        if page.is_redirect:
            target = urljoin(page.url, page.headers["Location"])
            if "/sso/callback" in target:
                return target
            page = http.get(target, timeout=30, allow_redirects=False)
            continue
        form = _FORM.search(page.text)
        prompt = next((p for p in ("login", "consent") if f'name="prompt" value="{p}"' in page.text), None)
        if form is None or prompt is None:
            raise AssertionError(f"neither a redirect nor the provider's form at {page.url}: {page.text[:500]}")
        fields = {"login": login, "password": "any"} if prompt == "login" else {}
        page = http.post(urljoin(page.url, form.group(1)), data={"prompt": prompt, **fields}, timeout=30,
                         allow_redirects=False)
    raise AssertionError(f"no way back to the callback from {start_url}")


def through_provider(http: requests.Session, start_url: str, login: str, *, callback_state: str | None = None
                     ) -> requests.Response:
    """The whole round trip; the answer of our callback (not followed). `callback_state` replaces
    the state the provider hands back (a tampered answer)."""
    target = callback_url(http, start_url, login)
    if callback_state is not None:
        target = _with_state(target, callback_state)
    return http.get(target, timeout=30, allow_redirects=False)


def _with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["state"] = state
    return urlunsplit(parts._replace(query=urlencode(query)))
