import re
from pathlib import Path

import pytest
import yaml

from madoguchi.paths import DATASETS_DIR
from madoguchi.routing import RoutingError, load_routing_table, load_routing_tables
from madoguchi.taxonomy import default_taxonomy

TAKAMATSU = DATASETS_DIR / "routing" / "takamatsu.yaml"


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _table(**changes) -> dict:
    data = yaml.safe_load(TAKAMATSU.read_text(encoding="utf-8"))
    data.update(changes)
    return data


def test_shipped_tables_cover_every_code():
    tables = load_routing_tables(DATASETS_DIR / "routing", default_taxonomy())
    assert {"takamatsu", "sample-town"} <= set(tables)
    for table in tables.values():
        assert set(table.routes) == set(default_taxonomy().codes)


def test_takamatsu_routes_to_real_departments():
    table = load_routing_table(TAKAMATSU, default_taxonomy())
    assert table.department_for("juki").name == "市民局市民課"
    assert table.department_for("kaigo_hoken").name == "健康福祉局介護保険課"


def test_small_town_sends_most_areas_to_two_desks():
    table = load_routing_table(DATASETS_DIR / "routing" / "sample-town.yaml", default_taxonomy())
    desks = [table.department_for(code).name for code in table.routes]
    assert desks.count("住民課") + desks.count("福祉課") > len(desks) / 2


def test_missing_code_is_refused_with_file_and_code(tmp_path):
    data = _table()
    del data["routes"]["senkyo"]
    path = _write(tmp_path, "takamatsu", data)
    with pytest.raises(RoutingError, match=re.escape(f"{path}: no route for category code 'senkyo'")):
        load_routing_table(path, default_taxonomy())


def test_unknown_code_is_refused_with_file_and_code(tmp_path):
    data = _table()
    data["routes"]["jyuki"] = "shimin"
    path = _write(tmp_path, "takamatsu", data)
    with pytest.raises(RoutingError, match=re.escape(f"{path}: unknown category code 'jyuki'")):
        load_routing_table(path, default_taxonomy())


def test_route_to_undefined_department_is_refused(tmp_path):
    data = _table()
    data["routes"]["juki"] = "nowhere"
    path = _write(tmp_path, "takamatsu", data)
    with pytest.raises(RoutingError, match="undefined department 'nowhere'"):
        load_routing_table(path, default_taxonomy())


def test_file_name_must_match_municipality(tmp_path):
    path = _write(tmp_path, "other", _table())
    with pytest.raises(RoutingError, match="does not match the file name"):
        load_routing_table(path, default_taxonomy())


def test_unreadable_yaml_is_refused_with_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_bytes(b"routes: [\xff\xfe")
    with pytest.raises(RoutingError, match=re.escape(str(path))):
        load_routing_table(path, default_taxonomy())
