"""Routing tables: each municipality's own answer to "which desk handles this?".

The model predicts standard categories; a municipality only supplies a table
from category code to one of its departments. A table that misses a code or
names an unknown one is refused when it is loaded (at service start-up), with
the file and the code in the message, so a typo never surfaces as a wrong
route in front of a resident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from madoguchi.paths import DATASETS_DIR
from madoguchi.taxonomy import Taxonomy
from madoguchi.yamlfile import read_mapping

DEFAULT_ROUTING_DIR = DATASETS_DIR / "routing"
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class RoutingError(ValueError):
    """A routing table is malformed or does not match the taxonomy."""


class UnknownMunicipalityError(KeyError):
    """No routing table is loaded for the requested municipality."""

    code = "unknown_municipality"


@dataclass(frozen=True)
class Department:
    key: str
    name: str
    contact: str | None = None
    counter: str | None = None


@dataclass(frozen=True)
class RoutingTable:
    municipality: str
    name: str
    departments: dict[str, Department]
    routes: dict[str, str]
    source: str | None = None

    def department_for(self, code: str) -> Department:
        return self.departments[self.routes[code]]


def load_routing_table(path: Path | str, taxonomy: Taxonomy) -> RoutingTable:
    path = Path(path)
    raw = read_mapping(path, RoutingError, "routing table", "municipality, name, departments, routes")
    municipality = raw.get("municipality")
    if not isinstance(municipality, str) or not _ID.match(municipality):
        raise RoutingError(f"{path}: 'municipality' must be a lower-case id such as 'takamatsu'")
    if municipality != path.stem:
        raise RoutingError(f"{path}: municipality {municipality!r} does not match the file name")
    departments: dict[str, Department] = {}
    for key, dept in (raw.get("departments") or {}).items():
        if not isinstance(dept, dict) or not dept.get("name"):
            raise RoutingError(f"{path}: department {key!r} needs a 'name'")
        departments[key] = Department(key, dept["name"], dept.get("contact"), dept.get("counter"))
    routes = raw.get("routes") or {}
    if not isinstance(routes, dict):
        raise RoutingError(f"{path}: 'routes' must map category codes to department keys")
    for code, dept_key in routes.items():
        if code not in taxonomy.categories:
            raise RoutingError(f"{path}: unknown category code {code!r} (not in taxonomy v{taxonomy.version})")
        if dept_key not in departments:
            raise RoutingError(f"{path}: code {code!r} routes to undefined department {dept_key!r}")
    missing = [code for code in taxonomy.codes if code not in routes]
    if missing:
        raise RoutingError(f"{path}: no route for category code {missing[0]!r}" + (
            f" (and {len(missing) - 1} more: {', '.join(missing[1:])})" if len(missing) > 1 else ""))
    return RoutingTable(municipality, str(raw.get("name") or municipality), departments, dict(routes),
                        raw.get("source"))


def load_routing_tables(directory: Path | str, taxonomy: Taxonomy) -> dict[str, RoutingTable]:
    directory = Path(directory)
    tables = {}
    for path in sorted(directory.glob("*.yaml")):
        table = load_routing_table(path, taxonomy)
        tables[table.municipality] = table
    if not tables:
        raise RoutingError(f"{directory}: no routing tables (*.yaml) found")
    return tables
