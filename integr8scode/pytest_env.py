"""Loaded by pytest before Django (``-p integr8scode.pytest_env`` in pyproject.toml): gives the
test session its own VAR_DIR, so it starts its own embedded MongoDB and never touches the
data of a server running from the same checkout."""

import atexit
import os
import shutil
import tempfile

_var_dir = tempfile.mkdtemp(prefix="integr8scode-test-")
os.environ["VAR_DIR"] = _var_dir
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(_var_dir, "hypothesis"))  # not in the checkout
os.environ.pop("DATABASE_URL", None)
os.environ.pop("STATIC_ROOT", None)  # the session collects static files into its VAR_DIR
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
if os.environ.get("MONGODB_URL"):
    os.environ.setdefault("MONGODB_DB", "integr8scode_test")
atexit.register(shutil.rmtree, _var_dir, ignore_errors=True)
