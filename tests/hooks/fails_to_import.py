"""A hooks module whose import fails, as one with a missing dependency does."""

from __future__ import annotations

import importlib

importlib.import_module("a_dependency_that_is_not_packaged")
