"""Licenses of sources, and which of them forbid commercial use of a model trained on them.

Dataset cards name licenses by SPDX-like ids (`cc-by-nc-4.0`, `apache-2.0`) or, in the wild, by
free text ("non-commercial", "research only"). A version that mixes any of these cannot back a
commercial model, so `freeze` warns about it and the manifest lists every license.
"""

from __future__ import annotations

import re

# cc-by-nc*, the "NC" element of any Creative Commons id, and free-text restrictions.
_NON_COMMERCIAL = re.compile(r"(^|[^a-z])nc([^a-z]|$)|non[- ]?commercial|research[- ]only|academic[- ]only",
                             re.IGNORECASE)


def is_non_commercial(license: str) -> bool:
    return bool(license) and bool(_NON_COMMERCIAL.search(license))
