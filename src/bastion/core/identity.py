"""Who is acting: a ``Principal`` flows from the CLI, environment or gateway to access and audit."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from bastion.core.errors import ValidationError

_PRINCIPAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated (or asserted, for the CLI) identity.

    ``authenticated_by`` records how the identity was established (``cli``,
    ``env``, ``api-key``, ``jwt``) so that audit readers can weigh it.
    """

    id: str
    authenticated_by: str = "cli"
    scopes: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not _PRINCIPAL_ID.fullmatch(self.id):
            raise ValidationError(
                "principal ids are 1-128 characters of letters, digits and . _ @ : + -",
                field="principal",
            )

    def __str__(self) -> str:
        return self.id


def principal_from_cli(as_principal: str | None) -> Principal | None:
    """The principal named by ``--as`` or, failing that, ``BASTION_PRINCIPAL``."""
    if as_principal:
        return Principal(as_principal, authenticated_by="cli")
    env_value = os.environ.get("BASTION_PRINCIPAL")
    if env_value:
        return Principal(env_value, authenticated_by="env")
    return None
