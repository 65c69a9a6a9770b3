"""Intake on every node (several nodes sharing PostgreSQL and Redis).

``POST /v1/contacts`` is not forwarded to the active router: the node that received it
triages the contact, finds its customer and stores it (its own journal, group committed)
as ``received``; then it asks the active router through the command stream to route it
(``contact.route``, carrying the stored row, so the router reads nothing). The router
plans it (history, rules, hours), records the plan and offers it; the node answers 202
with the router's answer.

On the node that is the active router the same contact is routed in this process: the
command would only travel through Redis and back (XADD, BLPOP, XREADGROUP and the fenced
reply; about half the router's CPU for a contact it received itself, bench/node_intake.py).
If the node stops routing while it routes one (its lease lost, its decisions fenced out
or diverged, its stack closing under the call), the contact goes to the router now active
by a command after all, which reads the record first. A plan fenced out after the answer
leaves the contact ``received``, planned by the next router at its take-over (or by its
sweep). Unlike a command's reply, the answer itself is not checked against the lease: it
may tell of a plan that was then fenced out.

The 202 means the contact is stored, whatever happens next. If no router answers in time
(a failover), the node still answers 202 with state ``received``: the command stays in the
stream for the next router, which also plans every ``received`` contact at take-over; a
sweep on the router catches a contact whose node died between its commit and its command.

With SQLite (one writer by nature) nodes forward intake to the router as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from channels.contact import InboundContact
from router.cluster.commands import CommandClient, RouterUnavailable, asked_here, handled
from router.cluster.lease import Fenced
from router.customer_changes import CustomerChange
from router.ids import ordered_id
from router.intake import Intake, IntakeResult
from router.reception import Publish, Reception
from router.rules.model import RoutingConfig
from router.states import RECEIVED
from router.store.errors import StoreError
from router.store.new_rows import new_row
from router.store.repository import Store
from router.store.schema import ContactRow

log = logging.getLogger("centralino.node_intake")

ROUTE = "contact.route"


def routes_on_every_node(database_url: str) -> bool:
    """Intake runs on every node only on a database several processes may write."""
    return database_url.startswith("postgresql")


LocalRouter = Callable[[], Intake | None]
"""The router's intake in this process while this node routes (holds the lease), else None."""


class NodeIntake:
    """This node's intake: reception and the durable write here, routing at the router."""

    def __init__(
        self,
        store: Store,
        reception: Reception,
        client: CommandClient,
        domain: str,
    ) -> None:
        self.store = store
        self.reception = reception
        self.client = client
        self.domain = domain
        self.local_router: LocalRouter = lambda: None  # set by the node (api/cluster/backend.py)

    @classmethod
    async def open(
        cls,
        database_url: str,
        config: RoutingConfig,
        client: CommandClient,
        domain: str,
        publish: Publish,
    ) -> NodeIntake:
        store = await Store.open(database_url)
        return cls(store, Reception(store.received, config, publish), client, domain)

    async def close(self) -> None:
        await self.store.close()

    def forget_customers(self, change: CustomerChange) -> None:
        self.reception.forget_customers(change)

    async def accept(self, inbound: InboundContact) -> IntakeResult:
        """Store the contact here, then have the router route it (module docstring)."""
        known = self.reception.recent(inbound.gateway, inbound.external_id)
        if known is not None:  # a retry this node stored: ask the router, no insert
            existing = await self.store.contact(known)
            if existing is not None:
                return await self._duplicate(existing)
        contact_id = ordered_id()
        _received, taken = await self.reception.take(inbound, contact_id, self.domain, time.time())
        if not taken.created:  # a retry, or another node won the insert
            existing = await self.store.contact(taken.contact_id)
            if existing is None:
                raise StoreError("the contact went while it was read; retry")
            return await self._duplicate(existing)
        self.reception.remember(inbound.gateway, inbound.external_id, contact_id)
        stored = taken.row or {}
        return await self._route({"row": stored}, new_row(ContactRow, stored), created=True)

    async def _duplicate(self, row: ContactRow) -> IntakeResult:
        return await self._route({"contact_id": row.id}, row, created=False)

    async def _route(self, args: dict[str, Any], row: ContactRow, created: bool) -> IntakeResult:
        """The router's answer; without one, what the record says (still stored)."""
        try:
            reply = await self._ask_router(args, row.id)
        except RouterUnavailable as exc:
            log.warning("contact %s stored; routing waits for a router (%s)", row.id, exc)
            reply = {}
        found = reply.get("result")
        if isinstance(found, dict):
            return IntakeResult(**{**found, "created": created})
        if "error" in reply:
            log.warning("contact %s stored; the router did not route it: %s", row.id, reply)
        state, queue = (RECEIVED, "") if row.state == RECEIVED else (row.state, row.queue)
        return IntakeResult(row.id, created, state, queue)

    async def _ask_router(self, args: dict[str, Any], contact_id: str) -> dict[str, Any]:
        """``contact.route``'s reply: in this process if this node routes (the module
        docstring says why), else from the active router through the command stream."""
        local = self.local_router()
        if local is None:
            return await self.client.call(ROUTE, args)
        try:
            reply = await asked_here(handled(ROUTE, route_command(local, args, replayed=False)))
        except Fenced:
            reply = None
        if reply is not None and self.local_router() is local:
            return reply
        # it stopped routing meanwhile (its stack closing under the call, its lease lost,
        # its decisions fenced out): the router now active decides from the record
        return await self.client.call(ROUTE, {"contact_id": contact_id})


async def route_command(intake: Intake, args: dict[str, Any], replayed: bool) -> dict[str, Any]:
    """The router's side of ``contact.route``: plan and route a contact a node stored.
    ``replayed``: the command was read again after a take-over (the record decides)."""
    try:
        if "row" in args:
            row = new_row(ContactRow, args["row"])
        else:
            stored = await intake.runtime.store.contact(str(args.get("contact_id", "")))
            if stored is None:
                return {"error": {"code": "not_found", "message": "no such contact"}}
            row, replayed = stored, True
        result = await intake.route_received(row, check=replayed)
    except KeyError:
        return {"error": {"code": "not_found", "message": "no such contact"}}
    except StoreError as exc:  # stored but not planned: the sweep plans it later
        return {"error": {"code": "store", "message": str(exc)}}
    return {"result": result.as_dict()}


async def sweep(intake: Intake, every: float, older_than: float) -> None:
    """On the router: plan ``received`` contacts whose command never came (their node
    died between its commit and its command), every ``every`` seconds."""
    while True:
        await asyncio.sleep(every)
        try:
            routed = await intake.route_backlog(before=time.time() - older_than)
        except StoreError as exc:
            log.warning("sweep of received contacts failed: %s", exc)
            continue
        except Exception:  # the sweep must not end (it would make the router step down)
            log.exception("sweep of received contacts failed")
            continue
        if routed:
            log.warning("routed %d received contacts whose command never came", routed)
