"""The ``centralino`` command: serve, check."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from api.server import users_cli
from router.rules.loader import ConfigError, load_rules

app = typer.Typer(
    help="centralino: omnichannel contact-center router", no_args_is_help=True, add_completion=False
)
app.add_typer(users_cli.users, name="user")


@app.command()
def check(
    config: Path = typer.Argument(Path("config.yaml"), help="rules file to validate"),
) -> None:
    """Validate a config file offline: YAML, fields, CEL conditions. Exit 1 on any error."""
    try:
        rules = load_rules(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{config}: {len(exc.problems)} problem(s); nothing loaded", err=True)
        raise typer.Exit(1) from None
    cfg = rules.config
    typer.echo(
        f"{config}: OK — {len(cfg.queues)} queues, {len(rules.rules)} rules, "
        f"default queue {cfg.default_queue!r}"
    )


@app.command()
def serve(
    config: Path = typer.Option(
        Path("config.yaml"), "--config", "-c", envvar="CENTRALINO_CONFIG_PATH"
    ),
    host: str = typer.Option("127.0.0.1", envvar="CENTRALINO_HOST"),
    port: int = typer.Option(8080, envvar="CENTRALINO_PORT"),
    database_url: str = typer.Option(
        "sqlite+aiosqlite:///centralino.db",
        envvar="CENTRALINO_DATABASE_URL",
        help="SQLAlchemy async URL, e.g. postgresql+asyncpg://user@host/db",
    ),
    redis_url: str = typer.Option(
        "",
        "--redis-url",
        envvar="CENTRALINO_REDIS_URL",
        help="several nodes: a shared Redis, e.g. redis://host:6379/0 (default: one process)",
    ),
    node_name: str = typer.Option("", envvar="CENTRALINO_NODE_NAME", help="name in the lease"),
    log_level: str = typer.Option("info"),
) -> None:
    """Run the router: gateway intake, agent desktops, ops endpoints."""
    import asyncio

    import uvicorn

    from api.base.settings import Settings
    from api.node.backend import SettingsError
    from api.server.app import create_app, server_options
    from api.server.backends import check_settings
    from api.server.banner import banner
    from api.server.gc_tuning import collect_on_a_timer, freeze_startup, tune_for_serving

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        rules = load_rules(config)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    settings = Settings(
        config_path=str(config), database_url=database_url, redis_url=redis_url, node_name=node_name
    )
    try:
        check_settings(settings)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    token_chosen = bool(settings.admin_token)
    settings = settings.with_admin_token()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, rules),  # also installs the log filters (api/base/logs.py)
            host=host,
            port=port,
            log_level=log_level,
            **server_options(settings),
        )
    )

    async def run() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        collecting = None
        if server.started:
            freeze_startup()
            collecting = asyncio.create_task(collect_on_a_timer(), name="centralino-gc")
            typer.echo(banner(settings, host, port, token_chosen=token_chosen))
        try:
            await serving
        finally:
            if collecting is not None:
                collecting.cancel()

    tune_for_serving()

    asyncio.run(run())


@app.command()
def simulate(
    scenario: Path = typer.Argument(..., help="traffic scenario (docs/simulator.md)"),
    config: Path = typer.Option(Path("config.yaml"), "--config", "-c", help="rules to test"),
    compare: Path | None = typer.Option(None, "--compare", help="a second config, same traffic"),
    as_json: bool = typer.Option(False, "--json", help="print the KPIs as JSON"),
    staff_for: str | None = typer.Option(
        None,
        "--staff-for",
        help="SL: the fewest agents per group meeting each channel's SLA target "
        "(or a number such as 0.8: that target for every channel)",
    ),
) -> None:
    """Run the real engine on a virtual clock and print KPIs per queue and channel."""
    import json

    from router.report import format_comparison, format_report
    from router.scenario import load_scenario
    from router.simulator import simulate as run_simulation

    try:
        plan = load_scenario(str(scenario))
        rulesets = [load_rules(config)] + ([load_rules(compare)] if compare else [])
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(1) from None
    if staff_for is not None:
        from router.simulation.staffing import format_staffing, parse_target, staff

        try:
            target = parse_target(staff_for)
        except ValueError as exc:
            typer.echo(f"--staff-for: {exc}", err=True)
            raise typer.Exit(2) from None
        result = staff(
            rulesets[0], plan, target, progress=lambda s: typer.echo(f"trying {s}", err=True)
        )
        typer.echo(format_staffing(result))
        raise typer.Exit(0 if result.met else 1)
    reports = []
    for path, rules in zip([config, compare], rulesets, strict=False):
        with typer.progressbar(length=100, label=f"simulating {path}", file=sys.stderr) as bar:
            done = [0]

            def advance(share: float, bar: object = bar, done: list[int] = done) -> None:
                step = int(share * 100) - done[0]
                if step > 0:
                    bar.update(step)  # type: ignore[attr-defined]
                    done[0] += step

            reports.append(run_simulation(rules, plan, advance))
    if as_json:
        typer.echo(
            json.dumps(
                {str(p): r.as_dict() for p, r in zip([config, compare], reports, strict=False)},
                indent=2,
            )
        )
        return
    for path, report in zip([config, compare], reports, strict=False):
        typer.echo(format_report(report, f"\n{path} — {scenario}"))
    if compare is not None:
        typer.echo("\n" + format_comparison(reports[0], reports[1], (str(config), str(compare))))


@app.command()
def explain(
    contact_id: str = typer.Argument(..., help="the contact's id"),
    url: str = typer.Option("http://127.0.0.1:8080", envvar="CENTRALINO_URL"),
    token: str = typer.Option(
        ..., envvar="CENTRALINO_ADMIN_TOKEN", help="admin or supervisor token"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Why a contact went to that agent, or why it is still waiting."""
    import json
    import urllib.error
    import urllib.request

    from api.ops.explain_text import format_explanation

    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/contacts/{contact_id}/explain",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            data = json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        typer.echo(f"{exc.code}: {detail}", err=True)
        raise typer.Exit(1) from None
    except (urllib.error.URLError, OSError) as exc:
        typer.echo(f"cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(data, indent=2) if as_json else format_explanation(data))


@app.command()
def report(
    start: str | None = typer.Option(None, "--from", help="first day, YYYY-MM-DD (today)"),
    end: str | None = typer.Option(None, "--to", help="last day, inclusive (= --from)"),
    period: str = typer.Option("day", help="day or interval (15 minutes)"),
    by: str = typer.Option("queue,channel", help="queue, channel and/or agent"),
    tz: str | None = typer.Option(None, help="time zone (default: config reports.timezone)"),
    as_csv: bool = typer.Option(False, "--csv", help="print CSV (for a spreadsheet)"),
    url: str = typer.Option("http://127.0.0.1:8080", envvar="CENTRALINO_URL"),
    token: str = typer.Option(
        ..., envvar="CENTRALINO_ADMIN_TOKEN", help="admin or supervisor token"
    ),
) -> None:
    """Interval or daily report per queue, channel or agent (GET /v1/reports)."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    from api.ops.report_text import format_report_table

    query = {"period": period, "by": by, "format": "csv" if as_csv else "json"}
    query |= {k: v for k, v in (("from", start), ("to", end), ("tz", tz)) if v}
    request = urllib.request.Request(
        f"{url.rstrip('/')}/v1/reports?{urllib.parse.urlencode(query)}",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            body = reply.read().decode()
    except urllib.error.HTTPError as exc:
        typer.echo(f"{exc.code}: {exc.read().decode(errors='replace')}", err=True)
        raise typer.Exit(1) from None
    except (urllib.error.URLError, OSError) as exc:
        typer.echo(f"cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(body.rstrip("\n") if as_csv else format_report_table(json.loads(body)))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
