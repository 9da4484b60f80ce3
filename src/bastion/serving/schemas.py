"""The gateway's request and response bodies: strict, documented, the OpenAPI contract."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = float | int | str | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PredictRequest(_Strict):
    """Either ``inputs`` (texts) or ``instances`` (feature records), never both."""

    inputs: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=10_000,
        description="texts to score, one prediction each",
        json_schema_extra={"examples": [["I love this product!"]]},
    )
    instances: list[dict[str, Scalar]] | None = Field(
        default=None,
        min_length=1,
        max_length=10_000,
        description="feature records for tabular models (adapter 'skops')",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.inputs is None) == (self.instances is None):
            raise ValueError("give exactly one of 'inputs' or 'instances'")
        return self


class Prediction(BaseModel):
    """One model output: a label with scores, a text, or a raw upstream output."""

    label: Scalar = None
    scores: dict[str, float] | None = None
    text: str | None = None
    output: Any = None
    pseudonymized: int | None = Field(
        default=None, description="values replaced by placeholders before the upstream call"
    )


class GuardSummary(BaseModel):
    """What the guard chain did to this request (reason codes only, never matched values)."""

    input_reasons: list[str] = Field(default_factory=list)
    output_reasons: list[str] = Field(default_factory=list)
    modified: bool = False


class PredictResponse(BaseModel):
    """Predictions in input order."""

    model: str
    predictions: list[Prediction]
    guards: GuardSummary
    request_id: str


class GuardScanRequest(_Strict):
    """Text to scan, with optional structured fields (checked for injection too)."""

    text: str = Field(max_length=1_000_000)
    fields: dict[str, str] | None = Field(default=None, max_length=256)


class GuardScanResponse(BaseModel):
    """The chain's verdict: ``decision`` allow/flag/redact/block and why."""

    direction: Literal["input", "output"]
    decision: str
    reasons: list[str]
    text: str
    modified: bool
    guards: list[dict[str, Any]]
    request_id: str


class TokenResponse(BaseModel):
    """RFC 6749 section 5.1 access token response."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 section 5.2 error response."""

    error: str
    error_description: str
    request_id: str


class ErrorDetail(BaseModel):
    """What was refused and why."""

    status: int
    code: str
    message: str
    reasons: list[str] = Field(default_factory=list)
    field: str | None = None
    request_id: str


class ErrorBody(BaseModel):
    """Every refusal and error has this shape (no stack traces, ever)."""

    error: ErrorDetail


class Health(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Readiness and the state of each store the gateway needs."""

    status: Literal["ready", "not-ready"]
    checks: dict[str, bool]


class Jwks(BaseModel):
    """A JSON Web Key Set."""

    keys: list[dict[str, Any]]
