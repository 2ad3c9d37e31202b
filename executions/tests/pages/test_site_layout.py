"""The shared layout (templates/base.html): account links in the header and Django messages."""

import pytest
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.template.loader import render_to_string
from django.test import RequestFactory


@pytest.mark.django_db
def test_anonymous_visitors_see_sign_in_sign_up_and_public_scripts(client):
    html = client.get("/").content.decode()

    assert 'href="/accounts/login/"' in html and ">Sign in<" in html
    assert 'href="/accounts/signup/"' in html and ">Sign up<" in html
    assert 'href="/scripts/public/"' in html
    assert "Sign out" not in html and "My scripts" not in html


def test_signed_in_users_see_their_scripts_history_name_and_sign_out(client, owner):
    client.force_login(owner)

    html = client.get("/").content.decode()

    assert 'href="/scripts/"' in html and ">My scripts<" in html
    assert 'href="/history/"' in html
    assert ">owner<" in html
    assert 'href="/accounts/logout/"' in html and ">Sign out<" in html
    assert ">Sign in<" not in html and "/admin/" not in html


def test_staff_also_see_the_admin_link(client, admin_user):
    client.force_login(admin_user)

    assert 'href="/admin/"' in client.get("/").content.decode()


def _request_with_messages(*texts):
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = {}
    request._messages = FallbackStorage(request)
    for level, text in texts:
        messages.add_message(request, level, text)
    return request


@pytest.mark.django_db
def test_pending_messages_render_above_the_content_as_a_live_status_list():
    request = _request_with_messages((messages.SUCCESS, "Script saved."), (messages.ERROR, "That went wrong."))

    html = render_to_string("base.html", request=request)

    assert '<ul class="messages" role="status" aria-live="polite">' in html
    assert '<li class="message message-success">Script saved.</li>' in html
    assert '<li class="message message-error" role="alert">That went wrong.</li>' in html
    assert html.index('class="messages"') < html.index("</main>")
    assert html.index('id="content"') < html.index('class="messages"')


@pytest.mark.django_db
def test_without_messages_there_is_no_empty_list(client):
    assert 'class="messages"' not in client.get("/").content.decode()


def test_a_message_after_a_redirect_shows_on_the_next_page_once(client, owner):
    client.force_login(owner)

    response = client.post("/accounts/logout/", follow=True)

    html = response.content.decode()
    assert html.count("You have signed out.") == 1


def test_a_message_after_saving_a_script_shows_once(client, owner):
    client.force_login(owner)

    response = client.post(
        "/scripts/new/",
        {"title": "Once", "source": "print(1)", "runtime": "python3.13", "visibility": "private"},
        follow=True,
    )

    assert response.content.decode().count("Saved “Once”.") == 1
