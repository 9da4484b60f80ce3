"""Inclusion proofs: show that one event is in a signed checkpoint with O(log n) hashes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.audit.checkpoints import Checkpoint
from bastion.audit.events import AuditEvent
from bastion.audit.merkle import root_from_path
from bastion.core.crypto import constant_time_equal
from bastion.core.errors import ValidationError


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 inclusion proof of the event at ``leaf_index`` in a tree of ``tree_size``."""

    event_id: str
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash,
            "audit_path": list(self.audit_path),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InclusionProof:
        try:
            path = data["audit_path"]
            if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
                raise ValidationError("must be a list of hex strings", field="audit_path")
            return cls(
                event_id=str(data["event_id"]),
                leaf_index=int(data["leaf_index"]),
                tree_size=int(data["tree_size"]),
                leaf_hash=str(data["leaf_hash"]),
                audit_path=tuple(path),
            )
        except KeyError as exc:
            raise ValidationError("missing field", field=str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"malformed proof: {exc}") from None


def verify_inclusion(
    proof: InclusionProof,
    event: AuditEvent,
    checkpoint: Checkpoint,
    public_key: Ed25519PublicKey,
) -> bool:
    """True only if the checkpoint is validly signed and ``event``, as given, is in it.

    The event's hash is recomputed from its fields, so any change to the event
    (or to the proof, or to the checkpoint) makes this return False.
    """
    if not checkpoint.signature_valid(public_key):
        return False
    if proof.tree_size != checkpoint.tree_size or proof.leaf_index != event.seq:
        return False
    if proof.event_id != event.id:
        return False
    try:
        leaf = event.leaf_hash()
        path = [bytes.fromhex(node) for node in proof.audit_path]
        root = bytes.fromhex(checkpoint.root)
    except ValueError:
        return False
    if not constant_time_equal(leaf.hex(), proof.leaf_hash):
        return False
    implied = root_from_path(proof.leaf_index, proof.tree_size, leaf, path)
    return implied is not None and constant_time_equal(implied, root)
