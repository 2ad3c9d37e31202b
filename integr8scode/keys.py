"""The embedded installation's own keys, kept under VAR_DIR: the one place they are made.

With ``MONGODB_URL`` unset (one machine), nobody has to provide ``SECRET_KEY`` or the JWT
signing key: the processes that serve (``integr8scode.serve``) make them once, before Django
starts, and every process of the installation reads the same files. Settings only read them
(``read``); a process started before the first serve (``manage.py check``, ``migrate``) gets a
key of its own for its lifetime and writes nothing. Production passes both through the
environment instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_KEY_FILE = "secret_key"
JWT_KEY_FILE = "jwt_private_key.pem"


def ensure(var_dir: Path) -> None:
    """Make the keys that are not there yet (mode 0600). Safe when several processes start at
    once: the first link wins and everyone reads the same file."""
    _made_once(var_dir, SECRET_KEY_FILE, lambda: secrets.token_urlsafe(50))
    _made_once(var_dir, JWT_KEY_FILE, rsa_private_key_pem)


def read(var_dir: Path, name: str) -> str | None:
    try:
        return (var_dir / name).read_text().strip() if name == SECRET_KEY_FILE else (var_dir / name).read_text()
    except FileNotFoundError:
        return None


def rsa_private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _made_once(var_dir: Path, name: str, make) -> None:
    path = var_dir / name
    if path.exists():
        return
    var_dir.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(make())
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
