"""What packages a runtime offers: installed beside it (the local runner reads the directory),
or locked for its image (the Kubernetes runner reads the lock file the image is built from)."""

from __future__ import annotations

import functools
import re
from importlib import metadata
from pathlib import Path

# The data-science runtime: its lock file in the repository, and the suffix its names carry.
DATA_LOCK = Path(__file__).resolve().parents[2] / "runtimes" / "python-data" / "requirements.txt"
DATA_SUFFIX = "-data"
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def canonical(name: str) -> str:
    """A distribution's name as PyPI compares them (PEP 503): ``Jinja2`` and ``jinja2`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def installed_packages(site_dir: str) -> dict[str, str]:
    """Distribution name -> version of what is installed in ``site_dir``, sorted by name."""
    return dict(
        sorted((canonical(dist.metadata["Name"]), dist.version) for dist in metadata.distributions(path=[site_dir]))
    )


@functools.cache
def locked_packages(lock_file: Path = DATA_LOCK) -> dict[str, str]:
    """Distribution name -> version pinned by a lock file (``name==version`` lines)."""
    try:
        text = lock_file.read_text()
    except OSError:
        return {}
    return dict(sorted((canonical(name), version) for name, version in LOCKED.findall(text)))
