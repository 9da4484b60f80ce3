"""Run the gateway under uvicorn with Bastion's hardening options."""

from __future__ import annotations

import logging
import os

from bastion.core.errors import ConfigError
from bastion.core.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """Keyword arguments for ``uvicorn.run`` derived from ``settings.serving``."""
    serving = settings.serving
    options: dict[str, object] = {
        "host": serving.host,
        "port": serving.port,
        "workers": serving.workers,
        "server_header": False,  # no Server: uvicorn banner
        "date_header": True,
        "proxy_headers": False,  # X-Forwarded-* only from serving.trusted_proxies, in our code
        "timeout_graceful_shutdown": 20,
        "timeout_keep_alive": 5,
        "log_level": settings.log_level.lower(),
        "access_log": False,  # the gateway logs each request with its request id
        "h11_max_incomplete_event_size": 16 * 1024,
    }
    if (serving.tls_cert is None) != (serving.tls_key is None):
        raise ConfigError("serving.tls_cert and serving.tls_key must be set together")
    if serving.tls_cert is not None:
        for path in (serving.tls_cert, serving.tls_key):
            if path is None or not path.is_file():
                raise ConfigError(f"TLS file {path} not found")
        options["ssl_certfile"] = str(serving.tls_cert)
        options["ssl_keyfile"] = str(serving.tls_key)
    return options


def app_factory() -> object:
    """``uvicorn --factory`` entry for worker processes: settings from the environment."""
    from bastion.core.settings import load_settings
    from bastion.serving.app import create_app

    return create_app(load_settings())


def serve(settings: Settings) -> None:
    """Start the gateway (blocking) and shut down gracefully on SIGTERM/SIGINT."""
    import uvicorn

    from bastion.serving.app import create_app

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    options = uvicorn_options(settings)
    if settings.serving.workers > 1:
        # Workers are separate processes: each loads settings from file/env (BASTION_CONFIG).
        if settings.source_file is not None:
            os.environ.setdefault("BASTION_CONFIG", str(settings.source_file))
        uvicorn.run("bastion.serving.server:app_factory", factory=True, **options)  # type: ignore[arg-type]
        return
    options.pop("workers")
    uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
