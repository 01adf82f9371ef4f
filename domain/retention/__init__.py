"""Retention: policies that remove old versions, tags, revisions and cache entries.

:mod:`~domain.retention.policy` reads the ``[[retention]]`` tables,
:mod:`~domain.retention.model` holds the one selection rule every format shares,
:mod:`~domain.retention.run` plans and applies a run. Each format answers for
its own content in its own package (``domain/<fmt>/retention.py`` or its core's),
exposed as the ``retention`` provider of its container. Retention removes
references only; the bytes they held are freed by ``nora gc``.
"""

from __future__ import annotations

from domain.retention.model import Deletion, FormatRetention, Group, Item, Target, doomed
from domain.retention.policy import Policy, parse_policies
from domain.retention.run import ACTION, Retention, RunResult

__all__ = [
    "ACTION",
    "Deletion",
    "FormatRetention",
    "Group",
    "Item",
    "Policy",
    "Retention",
    "RunResult",
    "Target",
    "doomed",
    "parse_policies",
]
