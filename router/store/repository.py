"""The store: every read and write of durable records goes through here.

Database errors are converted at this boundary into ``StoreError`` so callers never see a
driver exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import IO, Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
)

from router.reports.records import ReportRecords
from router.states import FINISHED_STATES
from router.store.accounts import Accounts
from router.store.aftercare import Aftercare
from router.store.change_batch import changes_work
from router.store.changes import CONTACTS, INSERT_OUTBOX, Change
from router.store.customer_records import CustomerRecords
from router.store.customers import CustomerDirectory
from router.store.engines import open_engines
from router.store.errors import FencedOut, StoreBusy, StoreError, read_errors
from router.store.histories import (
    CustomerHistory,
    HistoryAsk,
    read_histories,
    read_histories_kept,
)
from router.store.journal import Journal, JournalError, JournalFull, T, Work
from router.store.journal_lanes import default_linger
from router.store.kept_reads import KeptReads, kept_reads_for
from router.store.merges import CustomerMerges
from router.store.new_rows import new_row
from router.store.ops_log import OpsLog
from router.store.privacy import Privacy
from router.store.prompt_reads import prompt_read
from router.store.reads import RecordReads
from router.store.received import ReceivedContacts
from router.store.replies import Replies
from router.store.schema import (
    AgentRow,
    ContactRow,
    MessageRow,
    RouterFenceRow,
)
from router.store.sqlite import sqlite_lock
from router.store.switches import QueueSwitches
from router.store.thread_links import thread_rows, upsert_thread
from router.store.tokens import read_agent_ids, read_agent_ids_kept, token_hash

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///centralino.db"
MESSAGES: Table = MessageRow.__table__  # type: ignore[assignment]


def as_store_error(exc: Exception) -> Exception:
    """Driver and journal errors become the store's own, safe to show."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, JournalError):
        return StoreError(str(exc))
    return StoreError(f"could not write: {type(exc).__name__}")


class Store(RecordReads):
    def __init__(
        self,
        engine: AsyncEngine,
        writer: Engine | None = None,
        async_writer: AsyncEngine | None = None,
        *,
        linger: float | None = None,
    ) -> None:
        self.engine = engine
        # one-statement reads outside a transaction: on PostgreSQL a connection in
        # autocommit (no BEGIN, no ROLLBACK); on SQLite a plain one, since the stdlib driver
        # begins no transaction for a SELECT, and switching its isolation level on checkout
        # and back on return cost more than the read (shift start: 1.4% of the server's CPU)
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else engine
        )
        # hot reads by key through the driver, each kind on a connection of its own (on
        # PostgreSQL a login's read does not wait for a history's); None: in memory
        # (router/store/kept_reads.py)
        self.kept_history_reads: KeptReads | None = kept_reads_for(self._autocommit)
        self.kept_token_reads: KeptReads | None = kept_reads_for(self._autocommit)
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.journal = Journal(
            async_writer or engine,
            sync_engine=writer,
            owns_engine=async_writer is not None,
            convert=as_store_error,
            intake_lane=engine.dialect.name == "postgresql",
            linger=default_linger(engine.dialect.name) if linger is None else linger,
        )
        self.customers = CustomerDirectory(self._sessions, self.commit)
        self.records = CustomerRecords(self._sessions, self.commit, engine.dialect.name)
        self.merges = CustomerMerges(self.commit)
        self.privacy = Privacy(self._sessions, self.commit)
        self.aftercare = Aftercare(self._sessions)
        self.replies = Replies(self._sessions, self.commit)
        self.accounts = Accounts(self._sessions, self.commit)
        self.ops = OpsLog(self._sessions, self.commit)
        self.reports = ReportRecords(self._sessions, self.commit)
        self.switches = QueueSwitches(self._sessions, self.commit)
        self._lock: IO[str] | None = None
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert_contact = dialect.insert(CONTACTS).on_conflict_do_nothing(
            index_elements=["gateway", "external_id"]
        )
        self._insert_message = dialect.insert(MESSAGES).on_conflict_do_nothing(
            index_elements=["contact_id", "external_id"]
        )
        self.received = ReceivedContacts(
            self._sessions, self.admit, self.customers, self._insert_contact
        )

    @classmethod
    async def open(
        cls,
        url: str = DEFAULT_DATABASE_URL,
        *,
        only_process: bool = False,
        linger: float | None = None,
    ) -> Store:
        """Open (and create) the database. ``only_process``: on a SQLite file, refuse to
        start while another process serves the same file (SQLite has one writer).
        ``linger``: seconds a batch of decisions waits for more; None: the database's
        default (router/store/journal.py ``default_linger``)."""
        lock = sqlite_lock(url) if only_process else None
        try:
            engines = await open_engines(url)
        except (SQLAlchemyError, OSError, ValueError) as exc:
            if lock is not None:
                lock.close()
            raise StoreError(f"cannot open database: {exc}") from exc
        store = cls(engines.readers, engines.writer, engines.async_writer, linger=linger)
        store._lock = lock
        store.journal.start()
        return store

    async def close(self) -> None:
        await self.journal.stop()
        try:
            for reads in (self.kept_history_reads, self.kept_token_reads):
                if reads is not None:
                    await reads.aclose()
        finally:
            await self.engine.dispose()  # the journal disposed its own writer
            if self._lock is not None:
                self._lock.close()  # releases the lock
            self._lock = None

    async def commit(self, work: Work[T]) -> T:
        """Run a unit of work in the journal and wait for its commit (StoreError if not)."""
        try:
            return await self.journal.run(work)
        except JournalFull as exc:
            raise StoreBusy(str(exc)) from exc

    async def admit(self, work: Work[T]) -> T:
        """``commit`` for new work that depends on nothing queued (a new contact and its
        customer): it goes ahead of queued routing decisions (router/store/journal.py)."""
        try:
            return await self.journal.run(work, ahead=True)
        except JournalFull as exc:
            raise StoreBusy(str(exc)) from exc

    # ------------------------------------------------------------- contacts

    async def add_contact(
        self, values: dict[str, Any], announce: dict[str, Any] | None = None
    ) -> tuple[ContactRow, bool]:
        """Insert a contact, idempotent on (gateway, external_id): (row, created). Group
        committed by the journal; a duplicate is decided by the unique constraint, so two
        nodes or a retry racing each other still make one contact. ``announce``: its
        gateway event, committed with it (only if the contact is new)."""
        statement = self._insert_contact

        def insert_contact(connection: Connection) -> bool:
            if connection.execute(statement, values).rowcount != 1:
                return False
            if announce is not None:
                connection.execute(INSERT_OUTBOX, announce)
            return True

        if await self.commit(insert_contact):
            return new_row(ContactRow, values), True
        existing = await self.contact_by_message(values["gateway"], values["external_id"])
        if existing is None:
            raise StoreError("contact id collision; retry the request")
        return existing, False

    async def contact_by_message(self, gateway: str, external_id: str) -> ContactRow | None:
        """The contact this gateway's message opened (StoreError if it cannot be read: the
        channel adapters ask it for every message)."""
        with read_errors():
            async with self._sessions() as session:
                result = await session.execute(
                    select(ContactRow).where(
                        ContactRow.gateway == gateway, ContactRow.external_id == external_id
                    )
                )
                return result.scalar_one_or_none()

    async def contact(self, contact_id: str) -> ContactRow | None:
        with read_errors():
            async with self._sessions() as session:
                return await session.get(ContactRow, contact_id)

    async def unfinished_contacts(self, domain: str | None = None) -> Sequence[ContactRow]:
        """Contacts not completed or abandoned, oldest first; of one routing domain if given."""
        finished = [state.value for state in FINISHED_STATES]
        query = select(ContactRow).where(ContactRow.state.not_in(finished))
        if domain is not None:
            query = query.where(ContactRow.domain == domain)
        async with self._sessions() as session:
            result = await session.execute(query.order_by(ContactRow.arrival))
            return result.scalars().all()

    async def customer_history(
        self, customer_id: str, since: float, *, besides: str = ""
    ) -> CustomerHistory:
        """Recent contacts (with their CSAT), the name and the identities on file.
        ``besides``: the contact being planned (it is stored before its plan) is not its
        own history."""
        return (await self.customer_histories([HistoryAsk(customer_id, since, besides)]))[0]

    async def customer_histories(self, asks: Sequence[HistoryAsk]) -> list[CustomerHistory]:
        """Several customers' histories, in order, on one connection outside a
        transaction: two statements for up to 64 customers (router/store/histories.py);
        StoreError if the database cannot be read."""
        if self.kept_history_reads is not None:
            return await read_histories_kept(self.kept_history_reads, asks)
        with read_errors():
            async with prompt_read(self._autocommit) as connection:
                return await read_histories(connection, asks)

    async def add_message(
        self,
        contact_id: str,
        at: float,
        kind: str,
        text: str,
        emotion: dict[str, Any],
        external_id: str | None = None,
        announce: dict[str, Any] | None = None,
    ) -> bool:
        """Store a message through the journal; False when this external id was already
        stored (a retry). ``announce``: its gateway event, committed with it."""
        values = {
            "contact_id": contact_id,
            "at": at,
            "kind": kind,
            "text": text,
            "emotion": emotion,
            "external_id": external_id,
        }

        def insert_message(connection: Connection) -> bool:
            if connection.execute(self._insert_message, values).rowcount == 0:
                return False
            if announce is not None:
                connection.execute(INSERT_OUTBOX, announce)
            return True

        return await self.commit(insert_message)

    async def link_threads(
        self, gateway: str, keys: Sequence[str], contact_id: str, now: float
    ) -> None:
        """Point these thread keys at the contact (the newest contact wins); one journal
        unit, an upsert per key."""
        rows = thread_rows(gateway, keys, contact_id, now)
        if not rows:
            return

        def link(connection: Connection) -> None:
            connection.execute(upsert_thread(connection), rows)

        await self.commit(link)

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

    async def agent_id_by_token(self, token: str) -> str | None:
        """The agent a desktop token belongs to (``agent_ids_by_tokens`` for one; logins
        go through ``RouterRuntime.token_reads``, which gathers them)."""
        return (await self.agent_ids_by_tokens([token]))[0]

    async def agent_ids_by_tokens(self, tokens: Sequence[str]) -> list[str | None]:
        """The agent each desktop token belongs to, in order, outside a transaction: one
        statement for up to 64 tokens on SQLite, for any number on PostgreSQL
        (router/store/tokens.py): at a shift start 2,000 desktops log in at once.
        StoreError if the database cannot be read."""
        if self.kept_token_reads is not None:
            return await read_agent_ids_kept(self.kept_token_reads, tokens)
        with read_errors():
            async with prompt_read(self._autocommit) as connection:
                return await read_agent_ids(connection, tokens)

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
        self.journal.fence = (domain, epoch)  # checked in every batch from now on

    async def apply(self, changes: Sequence[Change]) -> None:
        """Apply routing changes in one unit of work, in order, and wait for the commit
        (only while this store's fence, if claimed, is still the current one)."""
        await self.commit(changes_work(changes))

    def record(self, changes: Sequence[Change]) -> asyncio.Future[None]:
        """Queue routing changes without waiting; the future resolves at their commit.
        Decisions already made are never refused for a full queue."""
        return self.journal.submit(changes_work(changes), bounded=False)


AGENTS: Table = AgentRow.__table__  # type: ignore[assignment]
# Core statements on the tables, parameters given at execution: compiled once and cached
