import shutil

import pytest
import torch

from starlib.util.seed import seed_everything

torch.set_num_threads(2)


@pytest.fixture
def seeded():
    seed_everything(0)


@pytest.fixture
def chromium():
    """A headless Chromium (Debian's: `apt-get install chromium`) driven by Playwright (requirements-browser.txt),
    for the real-browser tests; skipped, saying what is missing, without either."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="no Playwright: pip install -r "
                                                                 "requirements-browser.txt")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no Chromium: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        except Exception as exc:  # noqa: BLE001  (a browser that cannot start on this machine)
            pytest.skip(f"Chromium does not start for Playwright: {exc}")
        try:
            yield browser
        finally:
            browser.close()
