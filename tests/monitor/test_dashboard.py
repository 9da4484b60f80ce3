"""The dashboard's gate and headers, without a browser."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bastion.core.settings import Settings
from bastion.monitor import store_from_settings
from bastion.serving import create_app, key_store_from_settings


def test_dashboard_needs_the_admin_scope_and_sends_a_strict_csp(settings: Settings) -> None:
    keys = key_store_from_settings(settings)
    admin = keys.create("ops", ["admin"]).plaintext
    user = keys.create("app", ["predict", "guard"]).plaintext
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/dashboard").status_code == 401
        forbidden = client.get("/dashboard", headers={"Authorization": f"Bearer {user}"})
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "scope-missing"
        page = client.get("/dashboard/drift", headers={"Authorization": f"Bearer {admin}"})
        assert page.status_code == 200 and "monitor.reference_profile" in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "img-src 'self' data:" in csp
        missing = client.get("/dashboard/incidents/inc-x", headers={"X-API-Key": admin})
        assert missing.status_code == 404
        assert "/dashboard" not in client.get("/openapi.json").text

        refused = client.post("/dashboard/login", data={"key": user}, follow_redirects=False)
        assert refused.status_code == 401 and "set-cookie" not in refused.headers
        signed_in = client.post("/dashboard/login", data={"key": admin}, follow_redirects=False)
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/dashboard" in cookie
        assert admin not in cookie
        assert client.get("/dashboard/incidents").status_code == 200
        # A revoked admin key cannot sign in again.
        keys.revoke("ops")
        client.cookies.clear()
        again = client.post("/dashboard/login", data={"key": admin}, follow_redirects=False)
        assert again.status_code == 401
        # Tampered cookies are refused.
        client.cookies.set("bastion_dashboard", "not-a-token", path="/dashboard")
        assert client.get("/dashboard").status_code == 401


def test_blocked_clients_are_refused_on_every_route_except_probes(settings: Settings) -> None:
    store = store_from_settings(settings)
    store.block("127.0.0.9", "test", None)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        headers = {"X-Forwarded-For": "127.0.0.9"}
        assert client.get("/healthz", headers=headers).status_code == 200
        for path in ("/dashboard", "/.well-known/jwks.json"):
            response = client.get(path, headers=headers)
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "client-blocked"
            assert response.headers["x-content-type-options"] == "nosniff"
        assert client.get("/.well-known/jwks.json").status_code == 200
        store.unblock("127.0.0.9")
        assert client.get("/.well-known/jwks.json", headers=headers).status_code == 200
        assert app.state.gateway.writer.flush(10)
    from bastion.audit import open_audit_log

    with open_audit_log(settings) as audit:
        blocked = [
            e
            for e in audit.query(action="gateway:request")
            if "client-blocked" in e.details["reasons"]
        ]
    assert len(blocked) == 2
