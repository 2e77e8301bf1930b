"""Seed 003's welcome route, and its admin notification types (`api/users/tests/views/
test_admin_notification_type_view.py`, ported): status and exact envelope, on SQLite and
PostgreSQL. The seed's fixture type is made through the API here."""

from __future__ import annotations

import httpx

from tests.fixtures.accounts import admin, seed_error, seed_invalid, signup
from tickhub.runtime import Runtime

TYPES = "/api/user/notification_type/"
FORBIDDEN = "You do not have permission to perform this action."
MISSING = {"message": "UserNotificationType matching query does not exist"}


async def test_notification_types_as_the_seed_tests_them(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    boss = await admin(runtime, client)
    carl = await signup(client, "carl.sagan@example.com")
    # every user has a market balance (registration opens it): each gets the notification
    created = await client.post(
        TYPES, json={"name": "test-notification-type"}, headers=boss.headers
    )
    assert created.status_code == 201
    fixture = created.json()["data"]
    assert created.json() == {
        "code": 201,
        "data": {"id": fixture["id"], "name": "test-notification-type"},
    }
    one = f"{TYPES}{fixture['id']}/"
    # *_no_auth
    for method, url in (("GET", TYPES), ("POST", TYPES), ("PUT", one), ("DELETE", one)):
        r = await client.request(method, url, json={"name": "new-notification-type"})
        assert r.status_code == 401, method
    # *_normal_user
    for method, url in (("GET", TYPES), ("POST", TYPES), ("PUT", one), ("DELETE", one)):
        r = await client.request(
            method, url, json={"name": "new-notification-type"}, headers=carl.headers
        )
        assert r.status_code == 403 and r.json() == seed_error(403, FORBIDDEN), method
    # test_list_notification_types
    assert (await client.get(TYPES, headers=boss.headers)).json() == {
        "code": 200,
        "data": [{"id": fixture["id"], "name": "test-notification-type"}],
    }
    # test_create_notification_type: one notification of it for every user
    r = await client.post(
        TYPES, data={"name": "another-new-random-notification"}, headers=boss.headers
    )
    assert r.status_code == 201
    added = r.json()["data"]
    notes = (await client.get("/api/user/notification", headers=carl.headers)).json()["data"]
    assert [n["state"] for n in notes["another-new-random-notification"]] == [True]
    # test_create_similar_notification_type
    r = await client.post(TYPES, json={"name": "test-notification-type-2"}, headers=boss.headers)
    assert r.status_code == 400
    assert r.json() == seed_invalid({"name": ["Similar notification event already exists"]})
    r = await client.post(TYPES, json={"name": "test-notification-type"}, headers=boss.headers)
    assert r.json() == seed_invalid(
        {"name": ["user notification type with this name already exists."]}
    )
    # test_update_notification_type: the users' notifications follow the new name
    r = await client.put(
        one, json={"name": "updated-app-forecast-notification"}, headers=boss.headers
    )
    assert r.json() == {
        "code": 200,
        "data": {"id": fixture["id"], "name": "updated-app-forecast-notification"},
    }
    notes = (await client.get("/api/user/notification", headers=carl.headers)).json()["data"]
    assert "updated-app-forecast-notification" in notes and "test-notification-type" not in notes
    # test_update_notification_type_not_found / test_delete_notification_type_not_found
    gone = f"{TYPES}{added['id'] + 100}/"
    r = await client.put(gone, json={"name": "updated-notification-type"}, headers=boss.headers)
    assert r.status_code == 400 and r.json() == seed_invalid(MISSING)
    r = await client.delete(gone, headers=boss.headers)
    assert r.status_code == 400 and r.json() == seed_invalid(MISSING)
    # test_delete_notification_type: the type and its notifications
    r = await client.delete(f"{TYPES}{added['id']}", headers=boss.headers)
    assert r.status_code == 204 and r.content == b""
    listed = (await client.get(TYPES, headers=boss.headers)).json()["data"]
    assert [t["id"] for t in listed] == [fixture["id"]]
    notes = (await client.get("/api/user/notification", headers=carl.headers)).json()["data"]
    assert "another-new-random-notification" not in notes


async def test_the_welcome_route_needs_no_credentials(client: httpx.AsyncClient) -> None:
    for path in ("/api/test", "/api/test/"):
        r = await client.get(path)
        assert r.status_code == 200 and r.json() == {"message": "Welcome to Predico!"}
