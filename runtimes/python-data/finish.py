"""The last step of installing the data runtime (make does it; see the Makefile): matplotlib's
font list, built now rather than at every run, naming the fonts where sandboxes see them.

Usage: python finish.py <runtime directory> <path its site-packages has in sandboxes>
"""

import json
import os
import subprocess
import sys

BUILD = "import matplotlib.font_manager"


def main(runtime: str, seen_as: str) -> None:
    site = os.path.abspath(os.path.join(runtime, "site-packages"))
    fonts = os.path.join(runtime, "matplotlib")
    os.makedirs(fonts, exist_ok=True)
    environment = {"MPLCONFIGDIR": fonts, "PYTHONPATH": site, "MPLBACKEND": "agg", "PATH": os.environ["PATH"]}
    subprocess.run([sys.executable, "-c", BUILD], env=environment, check=True)
    for name in os.listdir(fonts):
        path = os.path.join(fonts, name)
        if name.startswith("fontlist-") and name.endswith(".json"):
            with open(path) as file:
                text = file.read()
            json.loads(text)  # still JSON: the paths are plain strings in it
            with open(path, "w") as file:
                file.write(text.replace(json.dumps(site)[1:-1], seen_as))
        elif os.path.isfile(path):
            os.remove(path)  # nothing else belongs in the shipped cache


if __name__ == "__main__":
    main(*sys.argv[1:])
