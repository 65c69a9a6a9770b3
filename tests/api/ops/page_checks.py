"""What the page tests share: an automated accessibility check (axe-core, vendored in
tests/data/axe, loaded from this origin so the pages keep their CSP), keyboard-only
navigation, and screenshots for review (tests/screenshots/, gitignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.paths import REPO

AXE = REPO / "tests" / "data" / "axe" / "axe.min.js"
SCREENSHOTS = REPO / "tests" / "screenshots"
BAD = ("serious", "critical")


async def axe_violations(page: Any) -> list[str]:
    """Serious or critical WCAG 2.x A/AA violations on the page as it is now."""
    url = page.url.split("/", 3)
    axe_url = f"{url[0]}//{url[2]}/static/axe-under-test.js"
    await page.route(
        axe_url, lambda route: route.fulfill(path=str(AXE), content_type="text/javascript")
    )
    await page.add_script_tag(url=axe_url)
    result = await page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: "tag",
             values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 3)}))"""
    )
    return [
        f"{v['impact']} {v['id']}: {v['help']} at {v['nodes']}"
        for v in result
        if v["impact"] in BAD
    ]


async def shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def tab_to(page: Any, selector: str, limit: int = 80, back: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if await page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        await page.keyboard.press("Shift+Tab" if back else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def focus_is_visible(page: Any) -> bool:
    """The focused element draws an outline (the focus ring)."""
    style = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    return bool(style[0] != "none" and style[1] not in ("0px", ""))


async def choose_by_keyboard(page: Any, value: str, limit: int = 30) -> None:
    """With a <select> focused, move through its options with the arrow keys to ``value``."""
    for _ in range(limit):
        if await page.evaluate("() => document.activeElement.value") == value:
            return
        await page.keyboard.press("ArrowDown")
    raise AssertionError(f"option {value!r} not reached with the keyboard")
