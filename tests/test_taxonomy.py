from pathlib import Path

import pytest

from madoguchi.paths import DATASETS_DIR, PROJECT_ROOT
from madoguchi.taxonomy import OUT_OF_SCOPE, default_taxonomy

SHARED = PROJECT_ROOT.parent / "shared" / "taxonomy.yaml"


def test_taxonomy_has_31_categories_and_the_reserved_label():
    taxonomy = default_taxonomy()
    assert len(taxonomy.codes) == 31
    assert taxonomy.labels[-1] == OUT_OF_SCOPE
    assert taxonomy.name("juki") == "住民基本台帳"


def test_life_events_name_only_known_codes():
    taxonomy = default_taxonomy()
    assert set(taxonomy.life_events) == {"hikkoshi", "shussei", "shibo", "kekkon", "rikon", "taishoku"}
    for event in taxonomy.life_events.values():
        assert set(event.categories) <= set(taxonomy.codes)


@pytest.mark.skipif(not SHARED.exists(), reason="no ../shared beside this checkout")
def test_project_copy_is_the_shared_contract_unchanged():
    assert (DATASETS_DIR / "taxonomy.yaml").read_bytes() == Path(SHARED).read_bytes()
