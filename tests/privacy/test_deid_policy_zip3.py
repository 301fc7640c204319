"""The restricted ZIP3 list comes from the 2020 Census table shipped with medmine."""

from medmine.privacy.deid_policy import (
    HHS_2000_RESTRICTED_ZIP3,
    RESTRICTED_ZIP3,
    ZIP3_POPULATION_2020,
    ZIP3_POPULATION_LIMIT,
)


def test_the_shipped_table_is_the_2020_census_total():
    # 2020 Census: 331,449,281 (50 states + DC) + 3,285,874 (Puerto Rico) = 334,735,155;
    # ZCTAs cover all but a few thousand people in unpopulated-ZIP blocks.
    total = sum(ZIP3_POPULATION_2020.values())
    assert 334_700_000 < total <= 334_735_155
    assert len(ZIP3_POPULATION_2020) == 894
    assert ZIP3_POPULATION_2020["036"] == 13_153  # Sullivan County area, New Hampshire


def test_every_small_or_unpopulated_zip3_is_restricted():
    for i in range(1000):
        z3 = f"{i:03d}"
        small = ZIP3_POPULATION_2020.get(z3, 0) <= ZIP3_POPULATION_LIMIT
        assert (z3 in RESTRICTED_ZIP3) == (small or z3 in HHS_2000_RESTRICTED_ZIP3), z3


def test_2020_adds_areas_the_2000_list_missed_and_keeps_the_old_ones():
    # Grown small since 2000 (or newly counted): 369 (Alabama), 772 (Texas), 753 (Dallas
    # unique ZIPs, no residents).
    assert {"369", "772", "753"} <= RESTRICTED_ZIP3
    assert HHS_2000_RESTRICTED_ZIP3 <= RESTRICTED_ZIP3
    assert not {"021", "100", "945", "606"} & RESTRICTED_ZIP3
