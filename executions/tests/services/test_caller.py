"""One Caller per request or socket: owner, caps and quota subject follow from it alone."""

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from executions import quotas
from executions.caller import Caller


def test_a_request_of_an_anonymous_visitor_is_metered_by_its_address_with_the_anonymous_caps(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.user = AnonymousUser()

    caller = Caller.of_request(request)

    assert (caller.owner_id, caller.address, caller.is_anonymous) == (None, "203.0.113.9", True)
    assert caller.caps == quotas.caps_for(signed_in=False)
    assert caller.quota_subject.key == "ip:203.0.113.9"


def test_a_signed_in_request_is_its_users_with_the_full_caps(owner):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9")
    request.user = owner

    caller = Caller.of_request(request)

    assert (caller.owner_id, caller.user) == (owner.pk, owner)
    assert caller.caps == quotas.caps_for(signed_in=True)
    assert caller.quota_subject.key == f"user:{owner.pk}"


def test_a_socket_caller_comes_from_its_handshake(owner):
    assert Caller.of_scope({"user": owner, "client": ["198.51.100.4", 5555]}) == Caller(owner.pk, "198.51.100.4")
    unknown = Caller.of_scope({"user": AnonymousUser(), "client": None})  # e.g. a Unix socket, no proxy headers
    assert (unknown.is_internal, unknown.caps, unknown.quota_subject.key) == (
        False,
        quotas.caps_for(signed_in=False),
        "ip:unknown",
    )


def test_internal_work_is_not_metered():
    assert Caller.internal().quota_subject is None
