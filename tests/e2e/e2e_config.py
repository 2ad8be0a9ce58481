"""Settings shared by the end-to-end fixtures and tests."""
import os

CHROMIUM = os.environ.get("ZHIGU_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "e2e-password-123"
#: (e-mail, display name, role, park) of the users the tests log in as; parks come from `zhigu demo`.
USERS = {
    "curator": ("e2e-curator@hangzhou.example", "E2E Curator", "curator", "hangzhou-future-park"),
    "manager": ("e2e-manager@hangzhou.example", "E2E Manager", "manager", "hangzhou-future-park"),
    "member": ("e2e-member@hangzhou.example", "E2E Member", "member", "hangzhou-future-park"),
    "admin": ("e2e-admin@zhigu.example", "E2E Admin", "admin", None),
}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
