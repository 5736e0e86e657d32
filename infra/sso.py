"""Single sign-on with the city platform (OpenID Connect): which provider, which client, and how
its claims become a liftcase user (organisation, roles). One TOML file (LIFTCASE_SSO_FILE); the
client secret comes from the environment (LIFTCASE_SSO_CLIENT_SECRET), never from the file.
No file: local accounts only. README "Single sign-on" explains every key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

MATCH_BY = ("username", "email", "none")


class SsoConfigError(ValueError):
    """The SSO file is missing a key or holds a value that cannot be right."""


@dataclass(frozen=True)
class ClaimNames:
    """Which claim of the provider holds what (userinfo and ID token claims, merged)."""

    username: str = "preferred_username"
    display_name: str = "name"
    email: str = "email"
    phone: str = "phone_number"
    organisation: str = "org_code"
    roles: str = "roles"


@dataclass(frozen=True)
class SsoConfig:
    issuer: str  # discovery at {issuer}/.well-known/openid-configuration
    client_id: str
    name_zh: str  # the button: 使用{name_zh}登录
    name_en: str
    client_secret: str = field(default="", repr=False)
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    # Registered at the provider; "" means {public_base_url}/sso/callback and /console/signin.
    redirect_uri: str = ""
    post_logout_redirect_uri: str = ""
    claims: ClaimNames = field(default_factory=ClaimNames)
    # The organisation claim's value -> a liftcase organisation code; a value not listed is taken as
    # the code itself. Either way the organisation must be in the register.
    organisations: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # A provider role -> liftcase roles; provider roles not listed give nothing.
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)
    provision: bool = True  # create a user the first time someone signs in
    # The first sign-in of someone with no link yet may take over the local account with the same
    # username (or e-mail); "none": never, a new account is made.
    match_existing_by: str = "username"
    # Each sign-in brings the user's name, organisation and roles up to the provider's claims.
    update_on_sign_in: bool = True


@lru_cache(maxsize=4)
def load_sso(path: Path, client_secret: str = "") -> SsoConfig:
    """The SSO settings in `path`; SsoConfigError naming the key when something is wrong."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError as err:
        raise SsoConfigError(f"no SSO file at {path}") from err
    except tomllib.TOMLDecodeError as err:
        raise SsoConfigError(f"{path}: not valid TOML: {err}") from err
    return parse_sso(raw, client_secret, where=str(path))


def parse_sso(raw: dict[str, Any], client_secret: str = "", *, where: str = "sso") -> SsoConfig:
    provider = raw.get("provider")
    if not isinstance(provider, dict):
        raise SsoConfigError(f"{where}: [provider] table missing")
    for key in ("issuer", "client_id", "name_zh", "name_en"):
        if not isinstance(provider.get(key), str) or not provider[key]:
            raise SsoConfigError(f"{where}: [provider] {key} missing")
    scopes = tuple(provider.get("scopes", SsoConfig.scopes))
    if "openid" not in scopes:
        raise SsoConfigError(f"{where}: [provider] scopes must include openid")
    users = raw.get("users", {})
    match_by = users.get("match_existing_by", "username")
    if match_by not in MATCH_BY:
        raise SsoConfigError(f"{where}: [users] match_existing_by must be one of {', '.join(MATCH_BY)}")
    claim_names = raw.get("claims", {})
    unknown = set(claim_names) - set(ClaimNames.__dataclass_fields__)
    if unknown:
        raise SsoConfigError(f"{where}: [claims] unknown keys {', '.join(sorted(unknown))}")
    roles = raw.get("roles", {})
    if not all(isinstance(v, list) and all(isinstance(r, str) for r in v) for v in roles.values()):
        raise SsoConfigError(f"{where}: [roles] each provider role maps to a list of liftcase roles")
    return SsoConfig(
        issuer=provider["issuer"].rstrip("/"),
        client_id=provider["client_id"],
        name_zh=provider["name_zh"],
        name_en=provider["name_en"],
        client_secret=client_secret,
        scopes=scopes,
        redirect_uri=provider.get("redirect_uri", ""),
        post_logout_redirect_uri=provider.get("post_logout_redirect_uri", ""),
        claims=ClaimNames(**claim_names),
        organisations={str(k): str(v) for k, v in raw.get("organisations", {}).items()},
        roles={str(k): tuple(v) for k, v in roles.items()},
        provision=bool(users.get("provision", True)),
        match_existing_by=match_by,
        update_on_sign_in=bool(users.get("update_on_sign_in", True)),
    )
