"""``python -m bench.loadtest.accounts COUNT`` (with the server's environment): the test's
accounts, ``loadtest-1`` ... ``loadtest-COUNT``, active, with a verified email and the
password in ``LOADTEST_PASSWORD``; existing ones are reset to that state."""

import os
import sys

USERNAME = "loadtest-{index}"
EMAIL = "loadtest-{index}@loadtest.invalid"


def accounts_ensure(*, count: int, password: str) -> None:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    hashed = make_password(password)  # once: the hasher is slow on purpose
    for index in range(1, count + 1):
        email = EMAIL.format(index=index)
        user, _ = get_user_model().objects.update_or_create(
            username=USERNAME.format(index=index), defaults={"email": email, "password": hashed, "is_active": True}
        )
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integr8scode.settings")
    django.setup()
    accounts_ensure(count=int(sys.argv[1]), password=os.environ["LOADTEST_PASSWORD"])
