"""The store: every read and write of durable records goes through here.

Database errors are converted at this boundary into ``StoreError`` so callers never see a
driver exception.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Table, create_engine, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from router.states import FINISHED_STATES
from router.store.aftercare import Aftercare
from router.store.changes import (
    CONTACTS,
    Change,
    changes_work,
)
from router.store.customers import CustomerDirectory
from router.store.errors import FencedOut, StoreBusy, StoreError
from router.store.journal import Journal, JournalError, JournalFull, T, Work
from router.store.schema import (
    AgentRow,
    Base,
    ContactRow,
    MessageRow,
    OfferRow,
    RouterFenceRow,
    RoutingEventRow,
    ThreadRow,
)
from router.store.sqlite import sqlite_lock, sqlite_pragmas
from router.store.switches import QueueSwitches

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///centralino.db"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class HandledContact:
    arrival: float
    agent_id: str
    queue: str
    resolved: bool | None


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What routing and the agent desktop need to know about earlier contacts."""

    previous_contacts: int = 0
    unresolved: bool = False
    last_agent: str | None = None
    last_queue: str | None = None
    recent: list[dict[str, Any]] = field(default_factory=list)
    handled: list[HandledContact] = field(default_factory=list)
    """Contacts an agent handled, newest first."""

    def facts(self) -> dict[str, Any]:
        """The ``customer`` variable of rule conditions."""
        return {
            "known": self.previous_contacts > 0,
            "previous_contacts": self.previous_contacts,
            "unresolved": self.unresolved,
            "last_agent": self.last_agent or "",
            "last_queue": self.last_queue or "",
        }


# readers (logins, ops pages, history); the journal has a connection of its own, so a burst
# of reads never makes the writer wait for the pool. No ping per checkout on the hot path:
# a dead connection fails its batch, which is retried.
POSTGRES_POOL = {"pool_size": 8, "max_overflow": 4, "pool_pre_ping": False}
POSTGRES_WRITER_POOL = {"pool_size": 1, "max_overflow": 0, "pool_pre_ping": False}


def as_store_error(exc: Exception) -> Exception:
    """Driver and journal errors become the store's own, safe to show."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, JournalError):
        return StoreError(str(exc))
    return StoreError(f"could not write: {type(exc).__name__}")


class Store:
    def __init__(
        self,
        engine: AsyncEngine,
        writer: Engine | None = None,
        async_writer: AsyncEngine | None = None,
    ) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._async_writer = async_writer
        self.journal = Journal(
            async_writer or engine,
            sync_engine=writer,
            convert=as_store_error,
            before_batch=self._hold_fence,
        )
        self.customers = CustomerDirectory(self._sessions, self.commit)
        self.aftercare = Aftercare(self._sessions)
        self.switches = QueueSwitches(self._sessions, self.commit)
        self.fence: tuple[str, int] | None = None  # (domain, epoch) once claimed
        self._lock: IO[str] | None = None
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert_contact = dialect.insert(CONTACTS).on_conflict_do_nothing(
            index_elements=["gateway", "external_id"]
        )

    @classmethod
    async def open(cls, url: str = DEFAULT_DATABASE_URL, *, only_process: bool = False) -> Store:
        """Open (and create) the database. ``only_process``: on a SQLite file, refuse to
        start while another process serves the same file (SQLite has one writer)."""
        lock = sqlite_lock(url) if only_process else None
        try:
            writer: Engine | None = None
            async_writer: AsyncEngine | None = None
            if url.startswith("sqlite"):
                engine = create_async_engine(url)
                event.listen(engine.sync_engine, "connect", sqlite_pragmas)
                if engine.url.database not in (None, "", ":memory:"):
                    # the journal writes with the stdlib driver in its own thread
                    writer = create_engine(engine.url.set(drivername="sqlite"), pool_size=1)
                    event.listen(writer, "connect", sqlite_pragmas)
            else:
                engine = create_async_engine(url, **POSTGRES_POOL)
                async_writer = create_async_engine(url, **POSTGRES_WRITER_POOL)
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
        except (SQLAlchemyError, OSError, ValueError) as exc:
            if lock is not None:
                lock.close()
            raise StoreError(f"cannot open database: {exc}") from exc
        store = cls(engine, writer, async_writer)
        store._lock = lock
        store.journal.start()
        return store

    async def close(self) -> None:
        await self.journal.stop()
        await self.engine.dispose()
        if self._async_writer is not None:
            await self._async_writer.dispose()
        if self._lock is not None:
            self._lock.close()  # releases the lock
            self._lock = None

    async def commit(self, work: Work[T]) -> T:
        """Run a unit of work in the journal and wait for its commit (StoreError if not)."""
        try:
            return await self.journal.run(work)
        except JournalFull as exc:
            raise StoreBusy(str(exc)) from exc

    def _hold_fence(self, connection: Connection) -> None:
        """First in every journal batch, while a router fence is claimed: the batch commits
        only if this router's epoch still holds the fence (the row lock orders it against a
        successor's claim)."""
        if self.fence is None:
            return
        domain, epoch = self.fence
        held = connection.execute(
            update(RouterFenceRow)
            .where(RouterFenceRow.domain == domain, RouterFenceRow.epoch == epoch)
            .values(epoch=epoch)
        )
        if held.rowcount != 1:
            raise FencedOut(f"router epoch {epoch} was fenced out")

    # ------------------------------------------------------------- contacts

    async def add_contact(self, values: dict[str, Any]) -> tuple[ContactRow, bool]:
        """Insert a contact, idempotent on (gateway, external_id): (row, created). Group
        committed by the journal; a duplicate is decided by the unique constraint, so two
        nodes or a retry racing each other still make one contact."""
        statement = self._insert_contact

        def insert_contact(connection: Connection) -> bool:
            return bool(connection.execute(statement, values).rowcount == 1)

        if await self.commit(insert_contact):
            return new_row(ContactRow, values), True
        existing = await self.contact_by_message(values["gateway"], values["external_id"])
        if existing is None:
            raise StoreError("contact id collision; retry the request")
        return existing, False

    async def contact_by_message(self, gateway: str, external_id: str) -> ContactRow | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(ContactRow).where(
                    ContactRow.gateway == gateway, ContactRow.external_id == external_id
                )
            )
            return result.scalar_one_or_none()

    async def contact(self, contact_id: str) -> ContactRow | None:
        async with self._sessions() as session:
            return await session.get(ContactRow, contact_id)

    async def unfinished_contacts(self) -> Sequence[ContactRow]:
        finished = [state.value for state in FINISHED_STATES]
        async with self._sessions() as session:
            result = await session.execute(
                select(ContactRow)
                .where(ContactRow.state.not_in(finished))
                .order_by(ContactRow.arrival)
            )
            return result.scalars().all()

    async def customer_history(
        self, customer_id: str, since: float, limit: int = 5
    ) -> CustomerHistory:
        async with self._sessions() as session:
            result = await session.execute(
                select(ContactRow)
                .where(ContactRow.customer_id == customer_id, ContactRow.arrival >= since)
                .order_by(ContactRow.arrival.desc())
                .limit(50)
            )
            rows = result.scalars().all()
        handled = [row for row in rows if row.agent_id is not None]
        last = handled[0] if handled else None
        return CustomerHistory(
            previous_contacts=len(rows),
            unresolved=bool(handled) and handled[0].resolved is False,
            last_agent=last.agent_id if last else None,
            last_queue=last.queue if last else None,
            recent=[
                {
                    "contact_id": row.id,
                    "channel": row.channel,
                    "queue": row.queue,
                    "arrival": row.arrival,
                    "state": row.state,
                    "agent_id": row.agent_id,
                    "outcome": row.outcome,
                    "resolved": row.resolved,
                    "subject": row.subject[:120],
                }
                for row in rows[:limit]
            ],
            handled=[
                HandledContact(row.arrival, row.agent_id or "", row.queue, row.resolved)
                for row in handled
            ],
        )

    async def add_message(
        self,
        contact_id: str,
        at: float,
        kind: str,
        text: str,
        emotion: dict[str, Any],
        external_id: str | None = None,
    ) -> bool:
        """Store a message; False when this external id was already stored (a retry)."""
        try:
            async with self._sessions.begin() as session:
                session.add(
                    MessageRow(
                        contact_id=contact_id,
                        at=at,
                        kind=kind,
                        text=text,
                        emotion=emotion,
                        external_id=external_id,
                    )
                )
            return True
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store the message: {type(exc).__name__}") from exc

    async def link_threads(
        self, gateway: str, keys: Sequence[str], contact_id: str, now: float
    ) -> None:
        """Point these thread keys at the contact (the newest contact wins)."""
        try:
            async with self._sessions.begin() as session:
                for key in dict.fromkeys(keys):
                    row = await session.get(ThreadRow, (gateway, key))
                    if row is None:
                        session.add(
                            ThreadRow(
                                gateway=gateway, key=key, contact_id=contact_id, created_at=now
                            )
                        )
                    else:
                        row.contact_id, row.created_at = contact_id, now
        except SQLAlchemyError as exc:
            raise StoreError(f"could not link the conversation: {type(exc).__name__}") from exc

    async def thread_contact(self, gateway: str, keys: Sequence[str]) -> ContactRow | None:
        """The newest contact any of these thread keys points at."""
        if not keys:
            return None
        async with self._sessions() as session:
            result = await session.execute(
                select(ContactRow)
                .join(ThreadRow, ThreadRow.contact_id == ContactRow.id)
                .where(ThreadRow.gateway == gateway, ThreadRow.key.in_(list(keys)))
                .order_by(ContactRow.arrival.desc())
                .limit(1)
            )
            return result.scalar_one_or_none()

    async def events(self, contact_id: str) -> Sequence[RoutingEventRow]:
        async with self._sessions() as session:
            result = await session.execute(
                select(RoutingEventRow)
                .where(RoutingEventRow.contact_id == contact_id)
                .order_by(RoutingEventRow.id)
            )
            return result.scalars().all()

    async def events_of_kind(
        self, contact_ids: Sequence[str], kinds: Sequence[str]
    ) -> list[RoutingEventRow]:
        """These contacts' events of these kinds, in order (by the contact_id index)."""
        found: list[RoutingEventRow] = []
        async with self._sessions() as session:
            for start in range(0, len(contact_ids), 500):
                result = await session.execute(
                    select(RoutingEventRow)
                    .where(RoutingEventRow.contact_id.in_(contact_ids[start : start + 500]))
                    .where(RoutingEventRow.kind.in_(kinds))
                    .order_by(RoutingEventRow.id)
                )
                found.extend(result.scalars().all())
        return found

    async def offer(self, offer_id: str) -> OfferRow | None:
        async with self._sessions() as session:
            return await session.get(OfferRow, offer_id)

    async def offers(self, contact_id: str) -> Sequence[OfferRow]:
        async with self._sessions() as session:
            result = await session.execute(
                select(OfferRow).where(OfferRow.contact_id == contact_id).order_by(OfferRow.made_at)
            )
            return result.scalars().all()

    # ---------------------------------------------------------------- agents

    async def save_agent(
        self, values: dict[str, Any], now: float, new_token: str | None = None
    ) -> tuple[AgentRow, bool]:
        """Create or update an agent's profile: (row, created). A new agent is stored with
        the hash of ``new_token`` in the same transaction: never an agent without a token."""

        def save(connection: Connection) -> tuple[dict[str, Any], bool]:
            found = connection.execute(select(AGENTS).where(AGENTS.c.id == values["id"]))
            existing = found.mappings().first()
            if existing is None:
                hashed = token_hash(new_token) if new_token else None
                row = {**values, "created_at": now, "updated_at": now, "token_hash": hashed}
                connection.execute(insert(AGENTS), row)
                return row, True
            changed = {**values, "updated_at": now}
            connection.execute(update(AGENTS).where(AGENTS.c.id == values["id"]), changed)
            return {**existing, **changed}, False

        row, created = await self.commit(save)
        return new_row(AgentRow, row), created

    async def set_agent_token(self, agent_id: str, token: str) -> bool:
        def rotate(connection: Connection) -> bool:
            result = connection.execute(
                update(AGENTS).where(AGENTS.c.id == agent_id).values(token_hash=token_hash(token))
            )
            return bool(result.rowcount)

        return bool(await self.commit(rotate))

    async def agent(self, agent_id: str) -> AgentRow | None:
        async with self._sessions() as session:
            return await session.get(AgentRow, agent_id)

    async def agent_by_token(self, token: str) -> AgentRow | None:
        async with self._sessions() as session:
            result = await session.execute(
                select(AgentRow).where(AgentRow.token_hash == token_hash(token))
            )
            return result.scalar_one_or_none()

    async def agents(self) -> Sequence[AgentRow]:
        async with self._sessions() as session:
            result = await session.execute(select(AgentRow).order_by(AgentRow.id))
            return result.scalars().all()

    # ----------------------------------------------------------- write-behind

    async def claim_fence(self, domain: str, epoch: int) -> None:
        """Make ``epoch`` the only one allowed to write routing changes from now on;
        FencedOut if a newer epoch already holds the fence."""
        try:
            async with self._sessions.begin() as session:
                row = await session.get(RouterFenceRow, domain, with_for_update=True)
                if row is None:
                    session.add(RouterFenceRow(domain=domain, epoch=epoch))
                elif row.epoch >= epoch:  # each router has its own epoch, always a newer one
                    raise FencedOut(
                        f"router epoch {row.epoch} is not older than {epoch}", row.epoch
                    )
                else:
                    row.epoch = epoch
        except IntegrityError as exc:  # another router inserted the row first
            raise FencedOut("another router claimed the fence at the same time") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"could not claim the router fence: {type(exc).__name__}") from exc
        self.fence = (domain, epoch)

    async def apply(self, changes: Sequence[Change]) -> None:
        """Apply routing changes in one unit of work, in order, and wait for the commit
        (only while this store's fence, if claimed, is still the current one)."""
        await self.commit(changes_work(changes))

    def record(self, changes: Sequence[Change]) -> asyncio.Future[None]:
        """Queue routing changes without waiting; the future resolves at their commit.
        Decisions already made are never refused for a full queue."""
        return self.journal.submit(changes_work(changes), bounded=False)


def new_row(model: Any, values: dict[str, Any]) -> Any:
    """An ORM object holding what was inserted, column defaults filled in as a flush would."""
    filled = dict(values)
    for column in model.__table__.columns:
        default = column.default
        if column.key not in filled and default is not None:
            filled[column.key] = default.arg(None) if default.is_callable else default.arg
    return model(**filled)


AGENTS: Table = AgentRow.__table__  # type: ignore[assignment]
# Core statements on the tables, parameters given at execution: compiled once and cached
