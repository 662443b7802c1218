"""Engine end-to-end tests: the engine (and the example app) as real processes."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("INNGEST_DEV", "1")

# The SDK (0.5.19) defines a pydantic model with a class-based config; import it once with that
# deprecation warning silenced, since the suite turns warnings into errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import inngest.fast_api  # noqa: F401
