"""What the R21 browser tests share: axe-core on a page or an open dialog, the viewports, and
the page-level layout checks (no sideways scroll, every action button on screen)."""

from axe_playwright_python.sync_playwright import Axe

# The three sizes: a phone, a tablet, a desktop.
VIEWPORTS = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 768, "height": 1024},
    "desktop": {"width": 1400, "height": 900},
}
BLOCKING_IMPACTS = {"serious", "critical"}

_axe = Axe()


def axe_violations(page, context=None) -> list[str]:
    """axe-core's serious and critical violations on the page (or inside `context`, a CSS
    selector such as "#dialog"), one readable line each: rule, impact, help, first targets."""
    options = {"resultTypes": ["violations"]}
    results = _axe.run(page, context=context, options=options).response
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} "
        f"at {[node['target'] for node in violation['nodes'][:4]]}"
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def assert_accessible(page, where: str, context=None) -> None:
    problems = axe_violations(page, context)
    assert not problems, f"axe on {where}:\n" + "\n".join(problems)


def sideways_overflow(page) -> dict:
    """How far the page scrolls sideways (0 is right), measured as a user would meet it."""
    return page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
    })""")


def assert_no_sideways_scroll(page, where: str) -> None:
    sizes = sideways_overflow(page)
    assert sizes["scrollWidth"] <= sizes["innerWidth"], f"{where} scrolls sideways: {sizes}"


ACTION_BUTTONS = "main button, main a.button, #dialog button"


def buttons_off_screen(page, selector: str = ACTION_BUTTONS) -> list[str]:
    """Visible buttons not wholly inside the viewport horizontally (a scroll box that hides
    them counts as off screen too: their box is clipped by an ancestor)."""
    return page.evaluate("""(selector) => {
        const out = [];
        for (const el of document.querySelectorAll(selector)) {
            const box = el.getBoundingClientRect();
            if (!box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
            let left = 0, right = window.innerWidth;
            for (let up = el.parentElement; up; up = up.parentElement) {
                const style = getComputedStyle(up);
                if (/(auto|scroll|hidden|clip)/.test(style.overflowX)) {
                    const clip = up.getBoundingClientRect();
                    left = Math.max(left, clip.left); right = Math.min(right, clip.right);
                }
            }
            if (box.left < left - 0.5 || box.right > right + 0.5) {
                const name = el.getAttribute("aria-label") || el.textContent.trim();
                const at = [box.left, box.right, left, right].map(Math.round);
                out.push(`${name} [${at[0]}..${at[1]} of ${at[2]}..${at[3]}]`);
            }
        }
        return out;
    }""", selector)
