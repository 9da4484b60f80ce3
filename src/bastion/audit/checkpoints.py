"""Signed checkpoints (Merkle tree heads) and the append-only witness file.

A checkpoint commits to the first ``tree_size`` events: their Merkle root, the
chain head hash and the id of the last event, signed with Ed25519.  Each signed
checkpoint is also appended to a witness file outside the database, so that
deleting tail events *and* checkpoint rows is still caught.  Copy that file (or
``bastion audit export``) off the host: whoever holds the signing key can
rewrite everything.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bastion.core import crypto
from bastion.core.errors import ValidationError
from bastion.core.timeutil import isoformat, parse_iso

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "bastion-audit-checkpoint-1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed Merkle tree head over the first ``tree_size`` events."""

    tree_size: int
    root: str
    head_hash: str
    head_event_id: str
    time: datetime
    key_id: str
    signature: str

    def message(self) -> bytes:
        """The exact bytes that are signed."""
        return signed_message(
            self.tree_size, self.root, self.head_hash, self.head_event_id, self.time, self.key_id
        )

    def signature_valid(self, public_key: Ed25519PublicKey, message: bytes | None = None) -> bool:
        """True when the signature verifies under ``public_key`` and the key id matches.

        ``message`` may be passed when the caller already built :meth:`message`.
        """
        if not crypto.constant_time_equal(self.key_id, crypto.key_id(public_key)):
            return False
        try:
            signature = crypto.b64decode(self.signature)
        except ValueError:
            return False
        return crypto.verify(public_key, signature, message or self.message())

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "tree_size": self.tree_size,
            "root": self.root,
            "head_hash": self.head_hash,
            "head_event_id": self.head_event_id,
            "time": isoformat(self.time),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse the JSON form, refusing anything malformed."""
        try:
            if data.get("format") != CHECKPOINT_FORMAT:
                raise ValidationError("not a bastion audit checkpoint", field="format")
            size = data["tree_size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 1:
                raise ValidationError("must be a positive integer", field="tree_size")
            return cls(
                tree_size=size,
                root=_hex(data["root"], "root"),
                head_hash=_hex(data["head_hash"], "head_hash"),
                head_event_id=str(data["head_event_id"]),
                time=parse_iso(str(data["time"])),
                key_id=str(data["key_id"]),
                signature=str(data["signature"]),
            )
        except KeyError as exc:
            raise ValidationError("missing field", field=str(exc.args[0])) from None
        except ValueError as exc:
            raise ValidationError(f"malformed checkpoint: {exc}") from None


def _hex(value: object, name: str) -> str:
    text = str(value)
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValidationError("must be 64 lowercase hex characters", field=name)
    return text


def signed_message(
    tree_size: int, root: str, head_hash: str, head_event_id: str, time: datetime, key_id: str
) -> bytes:
    """Canonical JSON of everything a checkpoint asserts."""
    body = {
        "format": CHECKPOINT_FORMAT,
        "tree_size": tree_size,
        "root": root,
        "head_hash": head_hash,
        "head_event_id": head_event_id,
        "time": isoformat(time),
        "key_id": key_id,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign_checkpoint(
    key: Ed25519PrivateKey,
    tree_size: int,
    root: bytes,
    head_hash: bytes,
    head_event_id: str,
    time: datetime,
) -> Checkpoint:
    """Create and sign a checkpoint."""
    kid = crypto.key_id(key.public_key())
    message = signed_message(tree_size, root.hex(), head_hash.hex(), head_event_id, time, kid)
    return Checkpoint(
        tree_size=tree_size,
        root=root.hex(),
        head_hash=head_hash.hex(),
        head_event_id=head_event_id,
        time=time,
        key_id=kid,
        signature=crypto.b64encode(crypto.sign(key, message)),
    )


def append_witness(path: Path, checkpoints: list[Checkpoint]) -> None:
    """Append checkpoints as JSON lines; an OS error is logged, never raised.

    The events are already committed when this runs, so failing the caller would
    invite a retry and a duplicate event; the next checkpoint writes again.
    """
    if not checkpoints:
        return
    lines = "".join(json.dumps(c.to_dict(), sort_keys=True) + "\n" for c in checkpoints)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("could not append to audit witness file %s: %s", path, exc.strerror)


@dataclass(frozen=True, slots=True)
class WitnessEntry:
    """A checkpoint read back from the witness file, with its line number."""

    line: int
    checkpoint: Checkpoint


def read_witness(path: Path) -> list[WitnessEntry]:
    """All witness entries; a malformed line raises ``ValidationError`` naming it."""
    if not path.exists():
        return []
    entries: list[WitnessEntry] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise ValueError("not an object")
                checkpoint = Checkpoint.from_dict(data)
            except ValidationError as exc:
                raise ValidationError(exc.message, file=str(path), line=number) from None
            except ValueError as exc:
                raise ValidationError(f"not JSON ({exc})", file=str(path), line=number) from None
            entries.append(WitnessEntry(number, checkpoint))
    return entries
