"""``centralino user add|list|revoke``: manage who signs in to the pages, straight on the
database (the server may be running; the same rules as ``PUT /v1/users/{name}``)."""

from __future__ import annotations

import asyncio
import sys
import time

import typer

from api.accounts.users import UserIn, save_user, user_view
from router.store.errors import StoreError
from router.store.repository import DEFAULT_DATABASE_URL, Store

users = typer.Typer(help="users who sign in to the desktop, wallboard and ops pages")
DATABASE = typer.Option(
    DEFAULT_DATABASE_URL, "--database-url", envvar="CENTRALINO_DATABASE_URL", help="the server's"
)


def _run(work: object) -> object:
    try:
        return asyncio.run(work)  # type: ignore[arg-type]
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@users.command("add")
def add(
    name: str = typer.Argument(..., help="the user name to sign in with"),
    role: str = typer.Option("agent", help="agent, supervisor or admin"),
    agent_id: str | None = typer.Option(None, "--agent-id", help="agents: the roster entry"),
    display_name: str | None = typer.Option(None, "--display-name"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from standard input (scripts)"
    ),
    no_password: bool = typer.Option(
        False, "--no-password", help="single sign-on only: no password"
    ),
    database_url: str = DATABASE,
) -> None:
    """Create a user, or change one (role, agent, name, password)."""
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        body = UserIn.model_validate(
            {"role": role, "agent_id": agent_id, "display_name": display_name, "password": password}
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def work() -> str:
        store = await Store.open(database_url)
        try:
            row, created = await save_user(store, name, body)
        finally:
            await store.close()
        view = user_view(row)
        return f"{'created' if created else 'updated'} {view['name']} ({view['role']})"

    try:
        typer.echo(_run(work()))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@users.command("list")
def list_users(database_url: str = DATABASE) -> None:
    """Users, their role and agent."""

    async def work() -> list[str]:
        store = await Store.open(database_url)
        try:
            rows = await store.accounts.users()
        finally:
            await store.close()
        return [
            f"{r.name}\t{r.role}\t{r.agent_id or '-'}\t{'disabled' if r.disabled else ''}"
            for r in rows
        ]

    for line in _run(work()):  # type: ignore[attr-defined]
        typer.echo(line)


@users.command("revoke")
def revoke(name: str, database_url: str = DATABASE) -> None:
    """End every session of a user (they must sign in again)."""

    async def work() -> int:
        store = await Store.open(database_url)
        try:
            return await store.accounts.revoke_user_sessions(name, time.time())
        finally:
            await store.close()

    typer.echo(f"revoked {_run(work())} session(s) of {name}")
