"""Tags on state machines (TagResource, UntagResource, ListTagsForResource, CreateStateMachine tags).

Kept in ``sfn_tags`` so they survive restarts; CDK templates tag every machine.

Example:
    >>> _check_tags([{"key": "a", "value": "b"}])
    [('a', 'b')]
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from ..errors import AwsError, InvalidArn, ValidationException
from ..store import Store

__all__ = ["ResourceNotFound", "Tags"]


class ResourceNotFound(AwsError):  # noqa: N818 - AWS's code for Step Functions' tag operations
    """Step Functions: the resource to tag does not exist."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sfn_tags (
    arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
) WITHOUT ROWID;
"""


def _check_tags(tags: Any) -> list[tuple[str, str]]:
    if not isinstance(tags, list):
        raise ValidationException("1 validation error detected: Value at 'tags' must be a list")
    out = []
    for tag in tags:
        key = tag.get("key") if isinstance(tag, dict) else None
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ValidationException(
                f"1 validation error detected: Value '{key}' at 'tags.member.key' failed to satisfy "
                "constraint: Member must have length between 1 and 128"
            )
        out.append((key, str(tag.get("value", ""))))
    return out


class Tags:
    """Tags by resource ARN, in the store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        store.migrate(_SCHEMA)

    def require(self, arn: Any, machines: Mapping[str, Any]) -> str:
        """A taggable resource that exists (state machines), else AWS's errors."""
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise InvalidArn(f"Invalid arn: '{arn}'")
        if arn not in machines:
            raise ResourceNotFound(f"Resource not found: '{arn}'")
        return arn

    async def tag(self, arn: str, tags: Any) -> None:
        pairs = _check_tags(tags)

        def op(db: sqlite3.Connection) -> None:
            rows = [(arn, k, v) for k, v in pairs]
            db.executemany("INSERT OR REPLACE INTO sfn_tags VALUES (?, ?, ?)", rows)

        await self._store.write(op)

    async def untag(self, arn: str, keys: Any) -> None:
        keys = [str(k) for k in keys or []]
        await self._store.write(
            lambda db: db.executemany("DELETE FROM sfn_tags WHERE arn=? AND key=?", [(arn, k) for k in keys])
        )

    def list(self, arn: str) -> list[dict[str, str]]:
        sql = "SELECT key, value FROM sfn_tags WHERE arn=? ORDER BY key"
        rows = self._store.read(lambda db: db.execute(sql, (arn,)).fetchall())
        return [{"key": k, "value": v} for k, v in rows]
