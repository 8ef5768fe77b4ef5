"""Loading one bench script from another by file name (the scripts are not a package API)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load_script(name: str, file: str) -> ModuleType:
    """Import ``bench/<file>`` under the module name ``name`` and return it.

    Raises:
        FileNotFoundError: no such script beside this one.
    """
    path = Path(__file__).with_name(file)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
