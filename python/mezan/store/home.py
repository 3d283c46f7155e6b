"""Where MEZAN keeps its state on this machine."""

from __future__ import annotations

import os
from pathlib import Path


def mezan_home() -> Path:
    """Return the folder of MEZAN's state: ``$MEZAN_HOME``, or ``~/.mezan`` when it is unset or empty.

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    return Path(os.environ.get("MEZAN_HOME") or Path.home() / ".mezan")
