"""Client keys: who is calling, and which sessions they own.

A session's owner is a digest of the key that created it, so the keys themselves are never
stored, logged or shown. Keys come from API_KEY, API_KEYS and API_KEYS_FILE together.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Request

from agent.errors import AgentError
from agent.settings import Settings

ANONYMOUS = ""  # the owner when no key is configured: everything is open, as before


@dataclass(frozen=True)
class Caller:
    """The authenticated client of a request."""

    owner: str
    name: str
    is_admin: bool = False


@dataclass(frozen=True)
class ClientKey:
    secret: str
    name: str


def owner_of(secret: str) -> str:
    """The stable, non-reversible owner id of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def read_keys_file(path: Path) -> list[ClientKey]:
    """`key name` per line (any whitespace between); blank lines and `#` comments skipped."""
    keys = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        secret, *name = text.split(maxsplit=1)
        keys.append(ClientKey(secret, name[0] if name else f"{path.name}:{number}"))
    return keys


class NoKeyError(ValueError):
    """API_KEYS or API_KEYS_FILE is set but names no key: the service would run open; or a
    setting that needs keys (SESSION_CONTINUITY) is on without any."""


def client_keys(settings: Settings) -> list[ClientKey]:
    """Every client key the settings name; a key setting that yields none is refused, and
    so is SESSION_CONTINUITY without keys."""
    keys = []
    if settings.api_key:
        keys.append(ClientKey(settings.api_key.get_secret_value(), "API_KEY"))
    if settings.api_keys:
        parts = [p.strip() for p in settings.api_keys.get_secret_value().split(",")]
        listed = [ClientKey(p, f"API_KEYS[{i}]") for i, p in enumerate(parts) if p]
        if not listed:
            raise NoKeyError("API_KEYS holds no key: give keys separated by commas, or unset it.")
        keys += listed
    if settings.api_keys_file:
        from_file = read_keys_file(settings.api_keys_file)
        if not from_file:
            raise NoKeyError(
                f"API_KEYS_FILE {settings.api_keys_file} holds no key: "
                "write one `key name` per line, or unset it."
            )
        keys += from_file
    if settings.session_continuity and not keys:
        raise NoKeyError(
            "SESSION_CONTINUITY=true needs client keys (API_KEY, API_KEYS or API_KEYS_FILE): "
            "without them any caller could continue any other caller's session. Set a key, "
            "or turn SESSION_CONTINUITY off."
        )
    return keys


class KeyRing:
    """Checks bearer tokens against the client keys and ADMIN_API_KEY in constant time."""

    def __init__(self, keys: list[ClientKey], admin: str | None) -> None:
        self.keys = keys
        self.admin = admin

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        admin = settings.admin_api_key.get_secret_value() if settings.admin_api_key else None
        return cls(client_keys(settings), admin)

    @property
    def open(self) -> bool:
        """No client key configured: every request is allowed as the anonymous owner."""
        return not self.keys

    def identify(self, token: bytes) -> Caller | None:
        """The caller holding `token`, or None. Every key is compared as bytes, so the time
        taken does not depend on which key (if any) matched, nor on the bytes sent."""
        found: Caller | None = None
        for key in self.keys:
            if secrets.compare_digest(token, key.secret.encode()):
                found = Caller(owner_of(key.secret), key.name)
        is_admin = self.admin is not None and secrets.compare_digest(token, self.admin.encode())
        if is_admin:
            return Caller(owner_of(token.decode()), "ADMIN_API_KEY", is_admin=True)
        if found is None and self.open:
            return Caller(ANONYMOUS, "anonymous")
        return found


def wrong_key() -> AgentError:
    """The 401 for a missing or unknown key (which one is never said)."""
    return AgentError(
        "Missing or wrong API key: send `Authorization: Bearer <your key>`.",
        code="invalid_api_key",
    )


def bearer_token(authorization: str | None) -> bytes:
    """The key of `Authorization: Bearer <key>` as bytes; b"" for any other header (no
    `Bearer ` scheme, or a byte outside printable ASCII), which matches no key."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.isascii() or not token.isprintable():
        return b""
    return token.encode("ascii")


async def require_caller(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    """`caller_of` as a dependency (async: see api/deps.py `get_services`)."""
    return caller_of(request, authorization)


def caller_of(request: Request, authorization: str | None) -> Caller:
    """The authenticated caller, or the 401."""
    ring: KeyRing = request.app.state.keys
    caller = ring.identify(bearer_token(authorization))
    if caller is None:
        raise wrong_key()
    return caller


def keys_required() -> AgentError:
    """The 403 for listing sessions in open mode, where every caller is the same owner."""
    return AgentError(
        "Listing sessions needs client keys: set API_KEY or API_KEYS on the server (without "
        "keys every caller is the same anonymous owner and would see every conversation).",
        code="keys_required",
    )


async def require_admin(caller: Annotated[Caller, Depends(require_caller)]) -> Caller:
    """Only ADMIN_API_KEY may change the backends."""
    if not caller.is_admin:
        raise AgentError(
            "Only ADMIN_API_KEY may register or remove backends; send it as the bearer key "
            "(set ADMIN_API_KEY on the server first).",
            code="admin_key_required",
        )
    return caller


CallerDep = Annotated[Caller, Depends(require_caller)]
AdminDep = Annotated[Caller, Depends(require_admin)]
