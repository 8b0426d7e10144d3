"""Turns stored whole or not at all, and only each session's latest checkpoint kept.

A turn runs the graph with `durability="exit"` (LangGraph saves the run's checkpoint and
pending writes once, when the run ends, also when it fails) and with a turn key in its
config. This saver holds what such a run saves until the turn commits; then it stores the
writes, the new messages (rows of their own: graph/store/history_rows.py), then the
checkpoint (one row: the moment the turn becomes visible), then deletes the thread's older
checkpoints. A turn that fails, is cancelled or dies with the process never reaches the
database, so there is nothing to roll back. Saves without a turn key (session create,
rename) go straight through, and are pruned the same way.

The decoded latest checkpoint of recently used sessions is kept in the process
(`LatestCache`): decoding a long history is most of what reading a session costs, and a turn
reads it twice (the turn's plan, then the graph). An entry is used only while the store's
latest checkpoint id for the session is still the one it holds, so another process writing
the session (Postgres) makes it stale, never wrong.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    copy_checkpoint,
)

from agent.tracing import traced
from graph.store.history_rows import CACHED_SESSIONS, HistoryRows, RowsMissing
from graph.store.sql import StoreSql


class LatestCache:
    def __init__(self, size: int = CACHED_SESSIONS) -> None:
        self._size = size
        self._entries: OrderedDict[str, CheckpointTuple] = OrderedDict()

    def get(self, thread_id: str, latest_id: str | None) -> CheckpointTuple | None:
        """The session's entry if it holds checkpoint `latest_id` (a copy a run may change)."""
        entry = self._entries.get(thread_id)
        if entry is None or latest_id is None or entry.checkpoint["id"] != latest_id:
            return None
        self._entries.move_to_end(thread_id)
        return entry._replace(checkpoint=copy_checkpoint(entry.checkpoint))

    def remember(self, thread_id: str, entry: CheckpointTuple | None) -> None:
        if entry is None:
            self.forget(thread_id)
            return
        self._entries[thread_id] = entry._replace(checkpoint=copy_checkpoint(entry.checkpoint))
        self._entries.move_to_end(thread_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, thread_id: str) -> None:
        self._entries.pop(thread_id, None)


TURN_KEY = "turn_key"
"""The config key (under "configurable") naming the open turn a run's saves belong to."""
TURN_LOG = "turns"
"""Checkpoint metadata: one record per committed turn of the session (see `TurnLog`)."""


@dataclass
class _Held:
    """What one turn's run saved, not yet in the database."""

    config: RunnableConfig | None = None
    checkpoint: Checkpoint | None = None
    metadata: CheckpointMetadata | None = None
    versions: ChannelVersions = field(default_factory=dict)
    writes: list[tuple[RunnableConfig, Sequence[tuple[str, Any]], str, str]] = field(
        default_factory=list
    )
    log: list[dict[str, Any]] = field(default_factory=list)
    """The turn log of the checkpoint the run started from."""
    base_id: str | None = None
    """The id of the checkpoint the run started from."""

    def own_writes(self) -> list[tuple[RunnableConfig, Sequence[tuple[str, Any]], str, str]]:
        """The writes saved for the held checkpoint (not for the one the run started from)."""
        own = self.checkpoint["id"] if self.checkpoint else None
        return [w for w in self.writes if w[0]["configurable"].get("checkpoint_id") == own]

    def as_tuple(self, parent: RunnableConfig) -> CheckpointTuple:
        assert self.checkpoint is not None and self.config is not None
        pending = [
            (task, ch, value) for _, items, task, _ in self.own_writes() for ch, value in items
        ]
        return CheckpointTuple(
            _config_of(self.config, self.checkpoint["id"]),
            self.checkpoint,
            self.metadata or {},
            parent,
            pending,
        )


class TurnSaver(BaseCheckpointSaver):
    """Wraps the store's own saver (SQLite, Postgres, memory); see the module docstring."""

    def __init__(self, inner: BaseCheckpointSaver, sql: StoreSql | None) -> None:
        """`sql` None (memory store): nothing is pruned or cached, messages are stored
        in the checkpoint."""
        super().__init__(serde=inner.serde)
        self.inner = inner
        self._sql = sql
        self._rows = HistoryRows(sql, inner.serde) if sql is not None else None
        self._held: dict[str, _Held] = {}
        self._cache = LatestCache()

    @asynccontextmanager
    async def turn(self, thread_id: str) -> AsyncIterator[RunnableConfig]:
        """The config for the run(s) of one turn; what they save is dropped unless
        `commit` is called before the block ends."""
        key = uuid.uuid4().hex
        self._held[key] = _Held()
        try:
            yield {"configurable": {"thread_id": thread_id, TURN_KEY: key}}
        finally:
            self._held.pop(key, None)  # late saves of this turn find no entry: dropped

    @traced("oss_agent.checkpoint_save")
    async def commit(self, config: RunnableConfig, record: dict[str, Any]) -> None:
        """Store the turn's checkpoint, its log entry `record` added, and prune."""
        held = self._held.pop(config["configurable"][TURN_KEY])
        if held.checkpoint is None or held.config is None:
            return
        for write in held.own_writes():
            await self.inner.aput_writes(*write)
        held.metadata = {**(held.metadata or {}), TURN_LOG: [*held.log, record]}  # type: ignore[typeddict-unknown-key]
        thread = str(held.config["configurable"]["thread_id"])
        await self._stored(
            thread, held.base_id, held.config, held.checkpoint, held.metadata, held.versions
        )
        self._cache.remember(thread, held.as_tuple(held.config))
        await self._pruned(held.config)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        held = self._held.get(config["configurable"].get(TURN_KEY, ""))
        if held is not None and held.checkpoint is not None and held.config is not None:
            return held.as_tuple(held.config)
        latest = await self._load(_without_key(config))
        if held is not None and latest is not None:  # the run loads where the turn starts
            held.log = list((latest.metadata or {}).get(TURN_LOG, []))
            held.base_id = latest.checkpoint["id"]
        return latest

    async def alist(
        self, config: RunnableConfig | None, **kwargs: Any
    ) -> AsyncIterator[CheckpointTuple]:
        async for entry in self.inner.alist(_without_key(config) if config else None, **kwargs):
            yield await self._hydrated(entry)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        key = config["configurable"].get(TURN_KEY)
        if key is not None:
            held = self._held.get(key)
            if held is not None:
                held.config, held.checkpoint, held.metadata = (
                    _without_key(config),
                    checkpoint,
                    metadata,
                )
                held.versions = {**held.versions, **new_versions}
            return _config_of(config, checkpoint["id"])
        thread = str(config["configurable"]["thread_id"])
        latest = await self._load({"configurable": {"thread_id": thread}})
        log = list((latest.metadata or {}).get(TURN_LOG, [])) if latest else []
        metadata = {**metadata, TURN_LOG: log}  # type: ignore[typeddict-item]
        base = latest.checkpoint["id"] if latest else None
        saved = await self._stored(thread, base, config, checkpoint, metadata, new_versions)
        self._cache.remember(thread, CheckpointTuple(saved, checkpoint, metadata, config, []))
        if latest is not None:  # a new session has nothing older to delete
            await self._pruned(config)
        return saved

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        key = config["configurable"].get(TURN_KEY)
        if key is None:
            self._cache.forget(str(config["configurable"]["thread_id"]))
            await self.inner.aput_writes(config, writes, task_id, task_path)
        elif (held := self._held.get(key)) is not None:
            held.writes.append((_without_key(config), writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        self._cache.forget(str(thread_id))
        await self.inner.adelete_thread(thread_id)
        if self._rows is not None:
            await self._rows.forget(str(thread_id))

    def get_next_version(self, current: Any, channel: None) -> Any:
        return self.inner.get_next_version(current, channel)

    async def _stored(
        self,
        thread: str,
        base_id: str | None,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint that follows `base_id`, its messages as rows (history_rows.py)."""
        if self._rows is None:
            return await self.inner.aput(config, checkpoint, metadata, versions)
        stored = await self._rows.stored_form(thread, base_id, checkpoint)
        saved = await self.inner.aput(config, stored, metadata, versions)
        await self._rows.committed(thread, stored)
        return saved

    async def _load(self, config: RunnableConfig) -> CheckpointTuple | None:
        """A stored checkpoint; the latest (no checkpoint id asked) from the cache if current."""
        try:
            return await self._load_once(config)
        except RowsMissing:  # replaced by another process while read: read the new one
            return await self._load_once(config)

    async def _load_once(self, config: RunnableConfig) -> CheckpointTuple | None:
        conf = config["configurable"]
        if self._sql is None or conf.get("checkpoint_id") or conf.get("checkpoint_ns"):
            return await self._hydrated(await self.inner.aget_tuple(config))
        thread = str(conf["thread_id"])
        cached = self._cache.get(thread, await self._sql.latest_id(thread))
        if cached is not None:
            return cached
        loaded = await self._hydrated(await self.inner.aget_tuple(config))
        self._cache.remember(thread, loaded)
        return loaded

    async def _hydrated(self, entry: CheckpointTuple | None) -> CheckpointTuple | None:
        if self._rows is None or entry is None:
            return entry
        return await self._rows.hydrated(str(entry.config["configurable"]["thread_id"]), entry)

    async def _pruned(self, config: RunnableConfig) -> None:
        if self._sql is not None:
            await self._sql.prune(str(config["configurable"]["thread_id"]))


def _config_of(config: RunnableConfig, checkpoint_id: str) -> RunnableConfig:
    conf = config["configurable"]
    return {
        "configurable": {
            "thread_id": conf["thread_id"],
            "checkpoint_ns": conf.get("checkpoint_ns", ""),
            "checkpoint_id": checkpoint_id,
        }
    }


def _without_key(config: RunnableConfig) -> RunnableConfig:
    conf = {k: v for k, v in config.get("configurable", {}).items() if k != TURN_KEY}
    return {**config, "configurable": conf}
