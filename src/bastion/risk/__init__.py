"""AI risk assessment as code: system model, threat rules, risk register, frameworks, reports.

Public API: :func:`assess` (model → threats → register → coverage), :func:`write_reports`,
:func:`load_system`, :func:`import_atlas`, :func:`diff_paths`, :func:`signoff`, and the
catalogue loaders.  Rules, controls and framework mappings are data files under
``bastion/risk/data``.
"""

from bastion.risk.assess import Assessment, assess
from bastion.risk.atlas import AtlasCatalogue, import_atlas, load_atlas, write_catalogue
from bastion.risk.catalogue import Catalogue, build_catalogue, default_catalogue
from bastion.risk.coverage import coverage, eu_ai_act_tier
from bastion.risk.diff import diff_paths, diff_registers
from bastion.risk.engine import Threat, find_threats, threat_id
from bastion.risk.evidence import gather_evidence
from bastion.risk.model import SystemModel, load_system
from bastion.risk.register import read_register, signoff, write_register
from bastion.risk.report import render_all, write_reports

__all__ = [
    "Assessment",
    "AtlasCatalogue",
    "Catalogue",
    "SystemModel",
    "Threat",
    "assess",
    "build_catalogue",
    "coverage",
    "default_catalogue",
    "diff_paths",
    "diff_registers",
    "eu_ai_act_tier",
    "find_threats",
    "gather_evidence",
    "import_atlas",
    "load_atlas",
    "load_system",
    "read_register",
    "render_all",
    "signoff",
    "threat_id",
    "write_catalogue",
    "write_register",
    "write_reports",
]
