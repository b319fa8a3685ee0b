"""Where the project's own folders are, and where Keras keeps its downloads.

One definition of each path, used by every package (the server, the workers, the scripts).

>>> (PROJECT_ROOT / "app.py").is_file()
True
>>> BUNDLED_MODELS_DIR.relative_to(PROJECT_ROOT).as_posix()
'assets/models'
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"
BUNDLED_DATA_DIR = ASSETS_DIR / "data"
BUNDLED_MODELS_DIR = ASSETS_DIR / "models"
SAMPLE_IMAGES_DIR = ASSETS_DIR / "images"


def keras_home() -> Path:
    """The folder Keras caches downloads in, computed the way Keras does, without importing it.

    `$KERAS_HOME` when set, else `~/.keras` (or `/tmp/.keras` when the home folder is not
    writable). Data sets live in its `datasets/` subfolder, pretrained weights in `models/`.

    >>> keras_home().name if "KERAS_HOME" not in os.environ else ".keras"
    '.keras'
    """
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return Path(base) / ".keras"
