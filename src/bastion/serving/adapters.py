"""Model adapters: what ``POST /v1/predict`` calls once a request passed every gate.

* ``vader``  — the bundled VADER sentiment lexicon (label and scores), offline.
* ``skops``  — a signed model from the pipeline's store; unsigned or tampered
  bundles are refused when the gateway starts.
* ``kserve`` — an upstream speaking the Open Inference Protocol (KServe v2).
* ``openai`` — an upstream speaking OpenAI-compatible chat completions, with
  PII replaced by placeholders before it leaves and restored in the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import anyio
import httpx

from bastion.core.errors import ConfigError, ServiceUnavailableError
from bastion.core.settings import Settings
from bastion.serving.pseudonymize import Pseudonymizer

Record = Mapping[str, float | int | str | bool | None]
_INLINE_CHARS = 4096  # below this much text, scoring on the event loop is cheaper than a thread


class UpstreamError(ServiceUnavailableError):
    """The upstream model server failed or answered something unusable."""


class ModelAdapter(Protocol):
    """One model behind the gateway."""

    kind: str
    name: str
    text_output: bool

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]: ...

    async def predict_records(self, records: Sequence[Record]) -> list[dict[str, Any]]: ...

    async def ready(self) -> bool: ...

    async def aclose(self) -> None: ...


class _Base:
    kind = "base"
    text_output = False

    def __init__(self, name: str) -> None:
        self.name = name

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        raise ConfigError(f"model {self.name!r} ({self.kind}) does not take text 'inputs'")

    async def predict_records(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        raise ConfigError(f"model {self.name!r} ({self.kind}) does not take 'instances'")

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None


def sentiment_label(compound: float) -> str:
    """VADER's conventional thresholds on the compound score."""
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


class VaderAdapter(_Base):
    """The bundled VADER sentiment model."""

    kind = "vader"

    def __init__(self, name: str = "sentiment") -> None:
        super().__init__(name)
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Label and scores for each text (synchronous)."""
        results = []
        for text in texts:
            scores = self._analyzer.polarity_scores(text)
            results.append(
                {
                    "label": sentiment_label(scores["compound"]),
                    "scores": {key: float(value) for key, value in scores.items()},
                }
            )
        return results

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        if sum(len(text) for text in texts) <= _INLINE_CHARS:
            return self.score(texts)
        return await anyio.to_thread.run_sync(self.score, list(texts))


class SkopsAdapter(_Base):
    """A signed scikit-learn model from the model store (verified before loading)."""

    kind = "skops"

    def __init__(self, name: str, model: Any) -> None:
        super().__init__(name)
        self._model = model

    @classmethod
    def from_settings(cls, settings: Settings) -> SkopsAdapter:
        from bastion.pipeline import load_model
        from bastion.pipeline.wiring import allowed_types_from_settings, trust_store_from_settings

        path = settings.serving.model_path
        if path is None:
            raise ConfigError("serving.adapter = 'skops' needs serving.model_path (a model bundle)")
        model = load_model(
            path,
            trust_store_from_settings(settings),
            allowed_types=allowed_types_from_settings(settings),
        )
        return cls(settings.serving.model_name, model)

    def _predict(self, rows: Any) -> list[dict[str, Any]]:
        predictions = self._model.predict(rows)
        probabilities = None
        classes = getattr(self._model, "classes_", None)
        if hasattr(self._model, "predict_proba") and classes is not None:
            probabilities = self._model.predict_proba(rows)
        results = []
        for index, value in enumerate(predictions):
            item: dict[str, Any] = {"label": _plain(value)}
            if probabilities is not None and classes is not None:
                item["scores"] = {
                    str(_plain(c)): float(p)
                    for c, p in zip(classes, probabilities[index], strict=True)
                }
            results.append(item)
        return results

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return await anyio.to_thread.run_sync(self._predict, list(texts))

    async def predict_records(self, records: Sequence[Record]) -> list[dict[str, Any]]:
        import pandas as pd

        frame = pd.DataFrame([dict(record) for record in records])
        try:
            return await anyio.to_thread.run_sync(self._predict, frame)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"instances do not fit the model's features: {exc}") from None


def _plain(value: Any) -> Any:
    """numpy scalars as plain JSON values."""
    return value.item() if hasattr(value, "item") else value


class _Upstream(_Base):
    def __init__(self, name: str, base_url: str, *, timeout: float, api_key: str | None) -> None:
        super().__init__(name)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError("serving.upstream_url must be an http:// or https:// URL")
        headers: dict[str, str] = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers=headers,
            follow_redirects=False,
            trust_env=False,
        )

    async def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        try:
            response = await self._client.post(path, json=dict(body))
        except httpx.HTTPError as exc:
            raise UpstreamError(f"upstream model unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise UpstreamError(f"upstream model answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise UpstreamError("upstream model answered with invalid JSON") from None

    async def _reachable(self, path: str) -> bool:
        try:
            response = await self._client.get(path)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    async def aclose(self) -> None:
        await self._client.aclose()


class KServeV2Adapter(_Upstream):
    """An Open Inference Protocol (KServe v2) upstream: one BYTES input tensor of texts."""

    kind = "kserve"

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        body = {
            "inputs": [
                {"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": list(texts)}
            ]
        }
        answer = await self._post(f"/v2/models/{self.name}/infer", body)
        try:
            output = answer["outputs"][0]
            data = list(output["data"])
            datatype = str(output.get("datatype", ""))
        except (KeyError, IndexError, TypeError):
            raise UpstreamError(
                "upstream answer is not an Open Inference Protocol response"
            ) from None
        if len(data) < len(texts):
            raise UpstreamError("upstream answered fewer outputs than inputs")
        per_item = len(data) // len(texts)
        results: list[dict[str, Any]] = []
        for index in range(len(texts)):
            values = data[index * per_item : (index + 1) * per_item]
            value = values[0] if per_item == 1 else values
            if datatype == "BYTES" and isinstance(value, str):
                results.append({"text": value})
            else:
                results.append({"output": value})
        return results

    async def ready(self) -> bool:
        return await self._reachable("/v2/health/ready")


class OpenAIChatAdapter(_Upstream):
    """An OpenAI-compatible ``/v1/chat/completions`` upstream; each input is one user turn."""

    kind = "openai"
    text_output = True

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        model: str,
        timeout: float,
        api_key: str | None,
        pseudonymizer: Pseudonymizer | None,
    ) -> None:
        super().__init__(name, base_url, timeout=timeout, api_key=api_key)
        self.model = model
        self.pseudonymizer = pseudonymizer

    async def _complete(self, text: str) -> dict[str, Any]:
        session = self.pseudonymizer.session() if self.pseudonymizer else None
        prompt = session.mask(text) if session else text
        answer = await self._post(
            "/v1/chat/completions",
            {"model": self.model, "messages": [{"role": "user", "content": prompt}]},
        )
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise UpstreamError("upstream answer is not a chat completion") from None
        if not isinstance(content, str):
            raise UpstreamError("upstream chat completion has no text content")
        result: dict[str, Any] = {"text": session.unmask(content) if session else content}
        if session is not None:
            result["pseudonymized"] = session.count
        return result

    async def predict_texts(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [await self._complete(text) for text in texts]

    async def ready(self) -> bool:
        return await self._reachable("/v1/models")


def adapter_from_settings(settings: Settings) -> ModelAdapter:
    """The adapter ``serving.adapter`` names, fully initialised (models verified, clients made)."""
    serving = settings.serving
    api_key = serving.upstream_api_key.get_secret_value() if serving.upstream_api_key else None
    if serving.adapter == "vader":
        return VaderAdapter(serving.model_name)
    if serving.adapter == "skops":
        return SkopsAdapter.from_settings(settings)
    if serving.upstream_url is None:
        raise ConfigError(f"serving.adapter = {serving.adapter!r} needs serving.upstream_url")
    if serving.adapter == "kserve":
        return KServeV2Adapter(
            serving.model_name,
            serving.upstream_url,
            timeout=serving.upstream_timeout_seconds,
            api_key=api_key,
        )
    pseudonymizer = Pseudonymizer.default() if serving.pseudonymize_upstream else None
    return OpenAIChatAdapter(
        serving.model_name,
        serving.upstream_url,
        model=serving.upstream_model or serving.model_name,
        timeout=serving.upstream_timeout_seconds,
        api_key=api_key,
        pseudonymizer=pseudonymizer,
    )
