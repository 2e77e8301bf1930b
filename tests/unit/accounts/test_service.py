"""The accounts use cases on an in-memory unit of work: ownership, conflicts, token
rotation, and a commit exactly when a write succeeds (also when it is a refusal that
must be remembered, like revoking a reused refresh token's family)."""

from __future__ import annotations

import pytest

from tests.fixtures.accounts import PASSWORD
from tests.fixtures.clocks import FakeClock
from tests.fixtures.fake_accounts import FakeAccountsStore, FakeAccountsUow, fake_accounts
from tickhub.accounts import service
from tickhub.accounts.errors import Conflict, Forbidden, Invalid, InvalidCredentials, NotFound
from tickhub.accounts.repository import UserRecord
from tickhub.accounts.service import Accounts, Principal
from tickhub.common.uow import ConstraintViolation


@pytest.fixture
def uow() -> FakeAccountsUow:
    return FakeAccountsUow()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def accounts(uow: FakeAccountsUow, clock: FakeClock) -> Accounts:
    return fake_accounts(uow, clock=clock, require_verification=False)


async def _signed_up(accounts: Accounts, email: str = "ada@example.com") -> Principal:
    done = await service.register(
        accounts, email=email, password=PASSWORD, first_name="Ada", last_name="Lovelace"
    )
    return Principal(done.user, via="token")


async def test_register_stores_one_verified_account(
    accounts: Accounts, uow: FakeAccountsUow
) -> None:
    ada = await _signed_up(accounts)
    assert ada.user.is_verified
    assert uow.commits == 1
    with pytest.raises(Conflict) as caught:
        await _signed_up(accounts)
    assert caught.value.field == "email"
    assert (uow.commits, len(uow.accounts.user_rows)) == (1, 1)


async def test_a_weak_password_stores_nothing(accounts: Accounts, uow: FakeAccountsUow) -> None:
    with pytest.raises(Invalid) as caught:
        await service.register(
            accounts, email="ada@example.com", password="short", first_name="A", last_name="L"
        )
    assert "password" in caught.value.errors
    assert (uow.commits, uow.accounts.user_rows) == (0, {})


async def test_a_verification_link_verifies_once(uow: FakeAccountsUow, clock: FakeClock) -> None:
    accounts = fake_accounts(uow, clock=clock, require_verification=True)
    done = await service.register(
        accounts, email="ada@example.com", password=PASSWORD, first_name="A", last_name="L"
    )
    assert done.verification_link is not None
    assert not done.user.is_verified
    uid, token = done.verification_link.rsplit("/", 2)[1:]
    with pytest.raises(Invalid, match="Email not verified"):
        await service.login(accounts, email="ada@example.com", password=PASSWORD)
    await service.verify_email(accounts, uid=uid, token=token)
    assert uow.accounts.user_rows[done.user.id].is_verified
    with pytest.raises(service.VerificationFailed, match="already verified"):
        await service.verify_email(accounts, uid=uid, token=token)
    await service.login(accounts, email="ada@example.com", password=PASSWORD)


async def test_the_profile_changes_only_what_is_given(accounts: Accounts) -> None:
    ada = await _signed_up(accounts)
    await service.update_profile(accounts, ada, first_name="Augusta", last_name=None)
    user = await service.profile(accounts, ada)
    assert (user.first_name, user.last_name) == ("Augusta", "Lovelace")


class RacingStore(FakeAccountsStore):
    """Another sign-up with the same address lands between the check and the insert."""

    async def user_by_email(self, email: str) -> UserRecord | None:
        return None

    async def add_user(self, **values: object) -> None:
        raise ConstraintViolation("UNIQUE constraint failed: users.email")


async def test_a_concurrent_sign_up_is_a_conflict(clock: FakeClock) -> None:
    uow = FakeAccountsUow(RacingStore())
    accounts = fake_accounts(uow, clock=clock, require_verification=False)
    with pytest.raises(Conflict, match="already exists"):
        await _signed_up(accounts)
    assert uow.commits == 0


async def test_reusing_a_refresh_token_revokes_its_family_durably(
    accounts: Accounts, uow: FakeAccountsUow, clock: FakeClock
) -> None:
    await _signed_up(accounts)
    first = await service.login(accounts, email="ada@example.com", password=PASSWORD)
    clock.advance(minutes=1)
    second = await service.refresh(accounts, token=first.refresh)
    with pytest.raises(InvalidCredentials, match="blacklisted"):
        await service.refresh(accounts, token=first.refresh)
    # The revocation was committed although the use case failed: the live token is dead.
    assert all(r.revoked_at is not None for r in uow.accounts.refresh_rows.values())
    with pytest.raises(InvalidCredentials, match="blacklisted"):
        await service.refresh(accounts, token=second.refresh)


async def test_a_wrong_password_writes_nothing(accounts: Accounts, uow: FakeAccountsUow) -> None:
    await _signed_up(accounts)
    commits = uow.commits
    with pytest.raises(Invalid, match="Invalid login credentials"):
        await service.login(accounts, email="ada@example.com", password="not-" + PASSWORD)
    assert (uow.commits, uow.accounts.refresh_rows) == (commits, {})


async def test_changing_the_password_signs_out_everywhere(
    accounts: Accounts, uow: FakeAccountsUow, clock: FakeClock
) -> None:
    ada = await _signed_up(accounts)
    pair = await service.login(accounts, email="ada@example.com", password=PASSWORD)
    clock.advance(seconds=2)
    await service.change_password(
        accounts, ada, current_password=PASSWORD, new_password="Another-Long-Phrase-7"
    )
    assert all(r.revoked_at == clock.now for r in uow.accounts.refresh_rows.values())
    with pytest.raises(InvalidCredentials):
        await service.authenticate_token(accounts, pair.access)
    with pytest.raises(Invalid) as caught:
        await service.change_password(
            accounts, ada, current_password="wrong", new_password="Another-Long-Phrase-8"
        )
    assert caught.value.field == "current_password"


async def test_api_keys_belong_to_their_owner(accounts: Accounts, uow: FakeAccountsUow) -> None:
    ada, bob = await _signed_up(accounts), await _signed_up(accounts, "bob@example.com")
    record, key = await service.create_api_key(accounts, ada, name="bot")
    via_key = await service.authenticate_api_key(accounts, key)
    assert (via_key.id, via_key.via, via_key.api_key_id) == (ada.id, "api_key", record.id)
    with pytest.raises(Forbidden):
        await service.create_api_key(accounts, via_key, name="from a key")
    commits = uow.commits
    with pytest.raises(NotFound):
        await service.revoke_api_key(accounts, bob, record.id)
    with pytest.raises(Forbidden):
        await service.api_keys(accounts, bob, user_id=ada.id)
    assert uow.commits == commits
    await service.revoke_api_key(accounts, ada, record.id)
    assert uow.commits == commits + 1
    with pytest.raises(InvalidCredentials):
        await service.authenticate_api_key(accounts, key)


async def test_a_key_records_its_use_at_most_once_a_minute(
    accounts: Accounts, uow: FakeAccountsUow, clock: FakeClock
) -> None:
    ada = await _signed_up(accounts)
    record, key = await service.create_api_key(accounts, ada, name="bot")
    await service.authenticate_api_key(accounts, key)
    first_use = clock.now
    clock.advance(seconds=30)
    await service.authenticate_api_key(accounts, key)
    assert uow.accounts.key_rows[record.id].last_used_at == first_use
    clock.advance(seconds=31)
    await service.authenticate_api_key(accounts, key)
    assert uow.accounts.key_rows[record.id].last_used_at == clock.now


async def test_settings_merge_and_a_refused_patch_keeps_them(
    accounts: Accounts, uow: FakeAccountsUow
) -> None:
    ada = await _signed_up(accounts)
    await service.replace_settings(accounts, ada, {"theme": "dark", "alerts": {"mail": True}})
    merged = await service.patch_settings(accounts, ada, {"alerts": {"mail": None, "sms": 1}})
    assert merged == {"theme": "dark", "alerts": {"sms": 1}}
    commits = uow.commits
    with pytest.raises(Invalid, match="NaN"):
        await service.patch_settings(accounts, ada, {"x": float("nan")})
    assert uow.commits == commits
    assert await service.user_settings(accounts, ada) == merged


async def test_create_admin_promotes_an_existing_account(
    accounts: Accounts, uow: FakeAccountsUow
) -> None:
    ada, bob = await _signed_up(accounts), await _signed_up(accounts, "bob@example.com")
    assert [u.id for u in await service.users(accounts, ada)] == [ada.id]
    await service.create_api_key(accounts, ada, name="bot")
    with pytest.raises(Conflict, match="--promote-existing"):
        await service.create_admin(accounts, email="ADA@example.com", password=PASSWORD)
    assert not uow.accounts.user_rows[ada.id].is_admin
    user, created = await service.create_admin(
        accounts, email="ADA@example.com", password="another-long-one-42", promote_existing=True
    )
    assert (user.id, user.is_admin, created) == (ada.id, True, False)
    assert user.password_hash != ada.user.password_hash
    assert all(k.revoked_at is not None for k in await service.api_keys(accounts, ada))
    assert uow.accounts.user_rows[ada.id].is_admin  # committed
    admin = Principal(user, via="token")
    assert {u.id for u in await service.users(accounts, admin)} == {ada.id, bob.id}
