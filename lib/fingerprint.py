"""What a request asked, as one hash: its replay has the same, a conflict not."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def request_fingerprint(contents: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of `contents` (keys sorted, no spaces,
    text kept as text). Stored fingerprints depend on this exact form."""
    canonical = json.dumps(
        dict(contents), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
