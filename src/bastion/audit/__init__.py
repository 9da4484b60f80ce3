"""Tamper-evident audit log: hash-chained events, signed Merkle checkpoints, proofs.

Public API: :class:`AuditLog` (implements ``bastion.core.audit_sink.AuditSink``),
:func:`open_audit_log`, :func:`verify_inclusion` and the value types below.
"""

from bastion.audit.checkpoints import Checkpoint
from bastion.audit.events import AuditEvent, EventInput
from bastion.audit.factory import open_audit_log, witness_path_for
from bastion.audit.log import AuditLog
from bastion.audit.proofs import InclusionProof, verify_inclusion
from bastion.audit.verify import VerificationReport

__all__ = [
    "AuditEvent",
    "AuditLog",
    "Checkpoint",
    "EventInput",
    "InclusionProof",
    "VerificationReport",
    "open_audit_log",
    "verify_inclusion",
    "witness_path_for",
]
