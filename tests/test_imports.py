"""Dependencies point one way: models and services never import routes; create_app imports every route module.

The packages' `__init__` modules hold only their blueprint, so importing a model or a service pulls in no views
(which import other domains' services: the cycles that once pushed imports into functions). The factory imports
the modules that attach routes, commands and permission rules (zhigu.ROUTE_MODULES).
"""
import subprocess
import sys
from pathlib import Path

import zhigu

#: Imported one after the other in a fresh interpreter; none may bring in a route module.
LOWER_LAYERS = ("zhigu.archive.models", "zhigu.auth.models", "zhigu.archive.services", "zhigu.search.services",
                "zhigu.comments.services", "zhigu.notify.scan", "zhigu.initiatives.services")

#: Report each module's new zhigu modules that attach routes or commands when imported.
PROBE = """
import importlib, sys
def routes():
    return {m for m in sys.modules if m.startswith("zhigu.")
            and (m.rsplit(".", 1)[-1] in ("views", "api", "cli") or m.startswith("zhigu.api."))}
for name in sys.argv[1:]:
    importlib.import_module(name)
    print(name, *sorted(routes()))
"""


def test_models_and_services_import_no_views_api_or_cli_module():
    result = subprocess.run([sys.executable, "-c", PROBE, *LOWER_LAYERS], capture_output=True, text=True,
                            cwd=Path(zhigu.__file__).parent.parent, check=True)

    lines = result.stdout.split("\n")
    assert [line.split()[0] for line in lines if line] == list(LOWER_LAYERS)
    assert [line for line in lines if " " in line] == []


def _route_modules_on_disk() -> set[str]:
    """Every module that attaches routes or registers a domain's permission rules when imported."""
    package = Path(zhigu.__file__).parent
    names = set()
    for path in package.glob("*/*.py"):
        domain, stem = path.parent.name, path.stem
        if stem in ("views", "api") or (stem == "permissions" and domain != "auth") or (
                domain == "api" and stem != "__init__"):
            names.add(f"zhigu.{domain}.{stem}")
    return names


def test_the_factory_imports_every_route_and_rule_module():
    assert _route_modules_on_disk() - set(zhigu.ROUTE_MODULES) == set()
    assert len(zhigu.ROUTE_MODULES) == len(set(zhigu.ROUTE_MODULES))
