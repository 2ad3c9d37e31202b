"""Sign-up, email verification, sign-in, sign-out and password reset: allauth's flows in the
site's own templates."""

import re

import pytest
from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model
from django.test import Client

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "an-entirely-new passphrase 7"
SITE_LAYOUT = 'class="site-header"'


@pytest.fixture
def client():
    return Client()


def sign_up(client, username="newcomer"):
    return client.post(
        "/accounts/signup/",
        {"email": f"{username}@example.com", "username": username, "password1": PASSWORD, "password2": PASSWORD},
    )


def link_in(message) -> str:
    return re.search(r"http://testserver(/accounts/\S+/)", message.body).group(1)


def sign_in(client, login="newcomer", password=PASSWORD):
    return client.post("/accounts/login/", {"login": login, "password": password})


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"])
def test_account_pages_use_the_sites_layout(client, path):
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert SITE_LAYOUT in html and 'class="account-form"' in html


def test_signing_up_sends_a_verification_link_and_holds_the_account_until_it_is_followed(client, mailoutbox):
    response = sign_up(client)

    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["newcomer@example.com"]
    assert sign_in(Client()).headers.get("Location") == "/accounts/confirm-email/"


def test_following_the_link_verifies_the_email_and_allows_signing_in(client, mailoutbox):
    sign_up(client)
    confirm = link_in(mailoutbox[0])

    client.post(confirm)

    user = get_user_model().objects.get(username="newcomer")
    assert user.emailaddress_set.get().verified
    fresh = Client()
    assert sign_in(fresh).status_code == 302
    assert fresh.get("/accounts/api/").status_code == 200


def test_signing_out_ends_the_session(client, owner):
    client.force_login(owner)

    client.post("/accounts/logout/")

    assert client.get("/accounts/api/").status_code == 302


def test_a_password_reset_link_sets_a_new_password(client, owner, mailoutbox):
    client.post("/accounts/password/reset/", {"email": owner.email})
    reset = client.get(link_in(mailoutbox[0]), follow=True)  # redirects to a key-less URL

    client.post(reset.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert sign_in(Client(), "owner", NEW_PASSWORD).status_code == 302


def test_repeated_failed_sign_ins_are_refused_for_a_while(client, owner, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "10/m/ip,3/300s/key"}
    for _ in range(3):
        sign_in(client, "owner", "wrong password")

    refused = sign_in(client, "owner", PASSWORD)

    assert refused.status_code == 200  # the form again, not a redirect: not signed in
    message = DefaultAccountAdapter.error_messages["too_many_login_attempts"]
    assert str(message) in refused.content.decode()


def test_a_banned_user_cannot_sign_in(client, owner):
    from accounts import services

    services.account_ban(user=owner, reason="spam")

    response = sign_in(client, "owner", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/accounts/inactive/"


def test_the_session_list_answers(client, owner):
    """allauth's session list loads django.contrib.humanize; without it the page was a 500."""
    client.force_login(owner)
    page = client.get("/accounts/sessions/")
    assert page.status_code == 200
    assert SITE_LAYOUT in page.content.decode()


def test_a_superuser_made_with_createsuperuser_signs_in_at_once(client, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", interactive=False, username="root", email="root@example.com", verbosity=0)

    response = client.post("/accounts/login/", {"login": "root", "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.get("/admin/").status_code == 200
