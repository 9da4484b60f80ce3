"""Synthetic patient records for demos and tests: realistic identifiers, learnable diagnoses.

Everything is derived from the seed (Faker and NumPy generators, a fixed
reference date), so a seed always produces the same bytes.  The diagnosis
depends on age, sex, smoking and vitals/labs, so a classifier trained on the
minimized columns beats the majority-class baseline.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from faker import Faker

REFERENCE_DATE = date(2025, 1, 1)
DIAGNOSES = ("Z00.00", "E11.9", "I10", "J45.909")  # checkup, type 2 diabetes, hypertension, asthma
COLUMNS = (
    "patient_id", "name", "email", "phone", "ssn", "address", "zip", "insurance_id",
    "date_of_birth", "age", "sex", "smoker", "bmi", "systolic_bp", "hba1c", "ldl",
    "visit_date", "diagnosis", "notes",
)  # fmt: skip

DEMO_DATASET = "clinical/patients"
DEMO_MODEL = "diagnosis-classifier"

SPEC_TEMPLATE = """\
# Dataset spec for the synthetic patient table written by `bastion demo data`.
version: 1
name: {dataset}
source:
  path: {data_file}
  format: csv
columns:
  patient_id:    {{class: direct_identifier, dtype: string}}
  name:          {{class: direct_identifier, dtype: string}}
  email:         {{class: direct_identifier, dtype: string}}
  phone:         {{class: direct_identifier, dtype: string}}
  ssn:           {{class: direct_identifier, dtype: string}}
  address:       {{class: direct_identifier, dtype: string}}
  insurance_id:  {{class: direct_identifier, dtype: string}}
  zip:           {{class: quasi_identifier, dtype: string}}
  date_of_birth: {{class: quasi_identifier, dtype: date}}
  age:           {{class: quasi_identifier, dtype: integer}}
  sex:           {{class: quasi_identifier, dtype: category}}
  visit_date:    {{class: quasi_identifier, dtype: date}}
  smoker:        {{class: feature, dtype: category}}
  bmi:           {{class: feature, dtype: float}}
  systolic_bp:   {{class: feature, dtype: float}}
  hba1c:         {{class: feature, dtype: float}}
  ldl:           {{class: feature, dtype: float}}
  notes:         {{class: sensitive, dtype: text}}
  diagnosis:     {{class: label, dtype: category}}
label: diagnosis
purposes:
  # Training sees banded ages and clinical measurements; identifiers are not even read.
  training:
    columns:
      age: {{generalize: age_band}}
      sex: keep
      smoker: keep
      bmi: keep
      systolic_bp: keep
      hba1c: keep
      ldl: keep
      diagnosis: keep
      name: drop
      email: drop
      ssn: drop
  # Analytics can count per patient (keyed pseudonym) and region, never identify.
  analytics:
    columns:
      patient_id: pseudonymize
      zip: {{generalize: zip3}}
      date_of_birth: {{generalize: year}}
      age: {{generalize: top_code_age}}
      sex: keep
      diagnosis: keep
  # Support staff need to recognise a record without seeing full identifiers.
  support:
    columns:
      patient_id: pseudonymize
      name: mask
      phone: mask
      email: mask
      notes: deidentify_text
training:
  model_name: {model}
  purpose: training
  estimator: sklearn.linear_model.LogisticRegression
  params: {{max_iter: 1000, C: 1.0}}
  test_size: 0.25
  seed: 7
"""


@dataclass(frozen=True)
class DemoFiles:
    """The files ``write_demo`` produced."""

    data: Path
    spec: Path
    policy: Path


def _diagnosis(rng: np.random.Generator, age: int, female: bool, smoker: bool,
               bmi: float, sbp: float, hba1c: float) -> str:  # fmt: skip
    scores = np.array(
        [
            0.0,
            2.2 * (hba1c - 6.0) + 0.10 * (bmi - 28.0) + 0.02 * (age - 50),
            0.09 * (sbp - 135.0) + 0.03 * (age - 55),
            1.8 * smoker - 0.04 * (age - 40) + 0.4 * female - 0.6,
        ]
    )
    return DIAGNOSES[int(np.argmax(scores + rng.gumbel(size=4) * 0.7))]


def generate_rows(rows: int, seed: int) -> list[dict[str, str]]:
    """``rows`` synthetic patients as strings, exactly reproducible from ``seed``."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = np.random.default_rng(seed)
    out: list[dict[str, str]] = []
    for index in range(rows):
        female = bool(rng.random() < 0.52)
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        age = int(min(101, max(18, rng.normal(52, 18))))
        birth = REFERENCE_DATE - timedelta(days=365 * age + int(rng.integers(0, 365)))
        visit = REFERENCE_DATE - timedelta(days=int(rng.integers(1, 720)))
        smoker = bool(rng.random() < 0.2)
        bmi = float(np.clip(rng.normal(27.5, 5.0), 15, 55))
        sbp = float(np.clip(rng.normal(118 + 0.45 * (age - 40), 14), 85, 210))
        hba1c = float(np.clip(rng.normal(5.5 + 0.04 * (bmi - 27), 0.7), 4.0, 13.0))
        ldl = float(np.clip(rng.normal(115 + 0.3 * (age - 50), 30), 40, 260))
        phone = fake.numerify("(###) ###-####")
        domain = fake.free_email_domain()
        name = f"{first} {last}"
        notes = (
            f"{name} seen on {visit.isoformat()} for follow-up. Born {birth.isoformat()}. "
            f"Call back at {phone}. "
            + ("Reports wheezing at night. " if rng.random() < 0.3 else "")
            + fake.sentence(nb_words=8)
        )
        out.append(
            {
                "patient_id": f"P{seed % 1000:03d}{index:07d}",
                "name": name,
                "email": f"{first}.{last}{int(rng.integers(1, 999))}@{domain}".lower(),
                "phone": phone,
                "ssn": fake.ssn(),
                "address": f"{fake.street_address()}, {fake.city()}, {fake.state_abbr()}",
                "zip": fake.zipcode(),
                "insurance_id": fake.bothify("??#########").upper(),
                "date_of_birth": birth.isoformat(),
                "age": str(age),
                "sex": "F" if female else "M",
                "smoker": "yes" if smoker else "no",
                "bmi": f"{bmi:.1f}",
                "systolic_bp": f"{sbp:.0f}",
                "hba1c": f"{hba1c:.1f}",
                "ldl": f"{ldl:.0f}",
                "visit_date": visit.isoformat(),
                "diagnosis": _diagnosis(rng, age, female, smoker, bmi, sbp, hba1c),
                "notes": notes,
            }
        )
    return out


def patients_csv(rows: int, seed: int) -> bytes:
    """The patient table as CSV bytes (UTF-8, ``\\n`` line ends, minimal quoting)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(generate_rows(rows, seed))
    return buffer.getvalue().encode("utf-8")


def write_demo(out_dir: Path, *, rows: int = 2000, seed: int = 42) -> DemoFiles:
    """Write ``patients.csv``, ``patients.spec.yaml`` and an example ``policy.yaml``."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    from bastion.access import example_policy_text

    out_dir.mkdir(parents=True, exist_ok=True)
    data = out_dir / "patients.csv"
    spec = out_dir / "patients.spec.yaml"
    policy = out_dir / "policy.yaml"
    data.write_bytes(patients_csv(rows, seed))
    spec.write_text(
        SPEC_TEMPLATE.format(dataset=DEMO_DATASET, data_file=data.name, model=DEMO_MODEL),
        encoding="utf-8",
    )
    policy.write_text(example_policy_text(), encoding="utf-8")
    return DemoFiles(data=data, spec=spec, policy=policy)
