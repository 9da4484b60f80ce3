"""The secure model-serving gateway.

Public API::

    from bastion.serving import create_app, serve, demo_bootstrap, ApiKeyStore

    app = create_app(load_settings())          # FastAPI app
    key, curl = demo_bootstrap(settings)       # a demo key (predict, guard) and a curl line

See ``docs/serving.md``.
"""

from __future__ import annotations

from bastion.core.settings import Settings
from bastion.serving.apikeys import (
    KNOWN_SCOPES,
    SCOPE_ACTIONS,
    ApiKeyRecord,
    ApiKeyStore,
    IssuedKey,
    KeyCheck,
    key_store_from_settings,
    parse_duration,
    parse_scopes,
)
from bastion.serving.app import Gateway, build_gateway, create_app
from bastion.serving.guardchain import GuardChainLike, NoGuards
from bastion.serving.pseudonymize import Pseudonymizer, PseudonymSession
from bastion.serving.server import serve, uvicorn_options
from bastion.serving.tokens import TokenIssuer, TokenVerifier, token_services

DEMO_KEY_NAME = "demo"
_DEMO_KEY_FILE = "demo-api-key"


def demo_bootstrap(settings: Settings) -> tuple[str, str]:
    """A demo API key (scopes predict, guard) and a curl example for ``make run``.

    The key's plaintext is kept in a 0600 file under the Bastion home so that a
    second ``make run`` prints the same key; if that file is gone or the key no
    longer verifies, the demo key is rotated.  Keys must exist (``keys init``).
    """
    from bastion.secrets import keyring_from_settings

    keyring_from_settings(settings).init()
    store = key_store_from_settings(settings)
    path = settings.home / _DEMO_KEY_FILE
    plaintext = path.read_text(encoding="ascii").strip() if path.is_file() else ""
    if not plaintext or not store.verify(plaintext).valid:
        try:
            store.get(DEMO_KEY_NAME)
            issued = store.rotate(DEMO_KEY_NAME, expires_in=parse_duration("30d"))
        except Exception:
            issued = store.create(
                DEMO_KEY_NAME, ["predict", "guard"], expires_in=parse_duration("30d")
            )
        plaintext = issued.plaintext
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(plaintext + "\n", encoding="ascii")
    store.close()
    scheme = "https" if settings.serving.tls_cert else "http"
    curl = (
        f"curl -s {scheme}://{settings.serving.host}:{settings.serving.port}/v1/predict "
        f"-H 'Authorization: Bearer {plaintext}' -H 'Content-Type: application/json' "
        '-d \'{"inputs": ["I love this product!"]}\''
    )
    return plaintext, curl


__all__ = [
    "DEMO_KEY_NAME",
    "KNOWN_SCOPES",
    "SCOPE_ACTIONS",
    "ApiKeyRecord",
    "ApiKeyStore",
    "Gateway",
    "GuardChainLike",
    "IssuedKey",
    "KeyCheck",
    "NoGuards",
    "PseudonymSession",
    "Pseudonymizer",
    "TokenIssuer",
    "TokenVerifier",
    "build_gateway",
    "create_app",
    "demo_bootstrap",
    "key_store_from_settings",
    "parse_duration",
    "parse_scopes",
    "serve",
    "token_services",
    "uvicorn_options",
]
