"""Model info under /v1/models, and which model ran a session on which data."""

from __future__ import annotations

import httpx

from tests.fixtures.accounts import admin, signup
from tickhub.runtime import Runtime

SESSION = {
    "session_name": "run",
    "type": "training",
    "model_name": "dqn",
    "starting_balance": 1000,
    "starting_coins": 0,
    "crypto_type": "BTCUSDT",
}


async def test_model_lifecycle_and_session_link(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    user = await signup(client, "bot@example.com")
    h = user.headers
    body = {
        "name": "dqn",
        "version": "2",
        "parameters": {"gamma": 0.99},
        "metrics": {"sharpe": 1.2},
        "dataset_label": "btc-2023-q1",
    }
    r = await client.post("/v1/models", json=body, headers=h)
    assert r.status_code == 201, r.text
    model = r.json()
    assert model["sessions"] == [] and model["created_at"].endswith("Z")
    dup = await client.post("/v1/models", json=body, headers=h)
    assert dup.status_code == 409
    assert dup.headers["content-type"].startswith("application/problem+json")

    r = await client.post("/session", json={**SESSION, "model_id": model["id"]}, headers=h)
    sid = r.json()["id"]
    used = (await client.get(f"/v1/sessions/{sid}/model", headers=h)).json()
    assert used["model"]["id"] == model["id"] and used["dataset_label"] == "btc-2023-q1"
    assert used["model_name"] == "dqn"
    assert (await client.get(f"/v1/models/{model['id']}", headers=h)).json()["sessions"] == [sid]
    listed = (await client.get("/v1/models?dataset_label=btc-2023-q1", headers=h)).json()
    assert listed["total"] == 1

    r = await client.patch(f"/v1/models/{model['id']}", json={"metrics": {"sharpe": 2}}, headers=h)
    assert r.json()["metrics"] == {"sharpe": 2} and r.json()["parameters"] == {"gamma": 0.99}

    other = await signup(client, "other@example.com")
    assert (await client.get(f"/v1/models/{model['id']}", headers=other.headers)).status_code == 404
    assert (await client.get("/v1/models", headers=other.headers)).json()["total"] == 0
    assert (await client.get(f"/v1/sessions/{sid}/model", headers=other.headers)).status_code == 404
    # Another user cannot link a session of theirs to this model.
    r = await client.post(
        "/session", json={**SESSION, "model_id": model["id"]}, headers=other.headers
    )
    assert r.status_code == 400 and "model_id" in r.json()["error"]
    root = await admin(runtime, client)
    assert (await client.get(f"/v1/models/{model['id']}", headers=root.headers)).is_success

    assert (await client.delete(f"/v1/models/{model['id']}", headers=h)).status_code == 204
    after = (await client.get(f"/v1/sessions/{sid}/model", headers=h)).json()
    assert after["model"] is None and after["model_name"] == "dqn"


async def test_bad_model_input(client: httpx.AsyncClient) -> None:
    user = await signup(client, "bot@example.com")
    r = await client.post("/v1/models", json={"version": "1"}, headers=user.headers)
    assert r.status_code == 422
    r = await client.post("/v1/models", json={"name": "x", "parameters": [1]}, headers=user.headers)
    assert r.status_code == 422
    assert (await client.get("/v1/models/424242", headers=user.headers)).status_code == 404


async def test_an_id_beyond_64_bits_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    """The database cannot hold such an id: it is bad input, not a server error."""
    user = await signup(client, "bot@example.com")
    h = user.headers
    for method, path, field in (
        ("GET", f"/v1/models/{2**63}", "model_id"),
        ("PATCH", f"/v1/models/{2**63}", "model_id"),
        ("DELETE", f"/v1/models/{-(2**63) - 1}", "model_id"),
        ("GET", f"/v1/sessions/{2**64}/model", "session_id"),
    ):
        r = await client.request(method, path, headers=h, json={} if method == "PATCH" else None)
        assert r.status_code == 422, (method, path, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field]
    # the largest id there can be is merely absent
    assert (await client.get(f"/v1/models/{2**63 - 1}", headers=h)).status_code == 404
