"""Settings (and the screenshot helper) shared by the end-to-end fixtures and tests."""
import os

from seeding import PASSWORD, USERS  # noqa: F401 (the seeded users the browser tests log in as)

CHROMIUM = os.environ.get("ZHIGU_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}


def screenshot(page, path) -> None:
    """Save what the page shows once it has loaded (styles, scripts, images) and its fonts are ready, with CSS
    animations and transitions at their end.

    Not after "networkidle": that waits for half a second without requests after every page, and what the
    pages' scripts fetch (the live lists) the tests wait for by its elements.
    """
    page.wait_for_load_state()
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=path, full_page=False, animations="disabled")
    assert path.stat().st_size > 1000
