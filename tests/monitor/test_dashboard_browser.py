"""The dashboard in a real browser: sign in, every view renders, charts load under the CSP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uvicorn

from bastion.core.settings import Settings
from bastion.monitor import profile_reference, store_from_settings
from bastion.serving import create_app, key_store_from_settings
from tests.monitor.browser import chromium
from tests.monitor.conftest import make_settings
from tests.services import free_port


def _seed_data(directory: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    n = 3000
    reference = pd.DataFrame({"age": rng.normal(50, 10, n), "plan": rng.choice(["a", "b", "c"], n)})
    current = reference.copy()
    current["age"] = current["age"] + 8
    profile = profile_reference(reference)
    paths = {"profile": directory / "ref.json", "current": directory / "current.csv"}
    profile.save(paths["profile"])
    current.to_csv(paths["current"], index=False)
    group = rng.choice(["f", "m"], n)
    label = rng.integers(0, 2, n)
    prediction = np.where(group == "m", label, label * (rng.random(n) < 0.5))
    preds = pd.DataFrame(
        {"prediction_id": [f"p{i}" for i in range(n)], "sex": group, "prediction": prediction}
    )
    labels = pd.DataFrame({"prediction_id": preds["prediction_id"], "label": label})
    paths["predictions"] = directory / "predictions.csv"
    paths["labels"] = directory / "labels.csv"
    preds.to_csv(paths["predictions"], index=False)
    labels.to_csv(paths["labels"], index=False)
    return paths


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    data = _seed_data(tmp_path)
    settings = make_settings(
        tmp_path / "home",
        monitor={
            "reference_profile": data["profile"],
            "current_data": data["current"],
            "predictions_log": data["predictions"],
            "labels_log": data["labels"],
            "protected_attribute": "sex",
        },
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}", settings
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_dashboard_renders_and_navigates_in_chromium(
    served: tuple[str, Settings], tmp_path: Path
) -> None:
    base, settings = served
    keys = key_store_from_settings(settings)
    admin = keys.create("ops", ["admin"]).plaintext
    store = store_from_settings(settings)
    incident = store.open_incident("scraping from key:bot", "high", "user:test")
    shots = tmp_path / "shots"
    shots.mkdir()
    with chromium(tmp_path / "profile") as page:
        # Unauthenticated: the JSON refusal, not the dashboard.
        page.goto(f"{base}/dashboard")
        assert "credentials required" in page.evaluate("document.body.innerText")

        # Sign in through the form like a person: the key becomes an HttpOnly cookie.
        page.goto(f"{base}/dashboard/login")
        page.evaluate(f"document.querySelector('input[name=key]').value = '{admin}'")
        page.click_and_wait("button[type=submit]")
        assert page.evaluate("location.pathname") == "/dashboard"
        assert page.evaluate("document.cookie") == ""  # HttpOnly: invisible to scripts
        assert page.evaluate("document.querySelector('main').id") == "view-overview"
        # The stylesheet applied and every chart decoded despite default-src 'none'.
        assert (
            page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
            == "rgb(17, 24, 39)"
        )
        images = "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        assert page.evaluate(images) == [True, True, True]
        assert incident.id in page.evaluate("document.getElementById('incidents').innerText")
        assert len(page.screenshot(shots / "overview.png")) > 10_000

        page.click_and_wait("#nav-drift")
        assert page.evaluate("document.querySelector('main').id") == "view-drift"
        table = page.evaluate("document.getElementById('drift-table').innerText")
        rows = {line.split("\t")[0]: line for line in table.splitlines()[1:]}
        assert "drift" in rows["age"].split("\t")[5]
        assert "ok" in rows["plan"].split("\t")[5]
        assert all(page.evaluate(images))
        page.screenshot(shots / "drift.png")

        page.click_and_wait("#nav-fairness")
        assert page.evaluate("document.querySelector('main').id") == "view-fairness"
        assert "FAIL" in page.evaluate("document.querySelector('.cards').innerText")
        assert len(page.evaluate(images)) == 4 and all(page.evaluate(images))
        page.screenshot(shots / "fairness.png")

        page.click_and_wait("#nav-incidents")
        page.click_and_wait("a.incident-link")
        assert page.evaluate("location.pathname") == f"/dashboard/incidents/{incident.id}"
        assert "opened" in page.evaluate("document.getElementById('timeline').innerText")
        page.screenshot(shots / "incident.png")
