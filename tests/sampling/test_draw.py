"""The sampling and allocation algorithms, checked as properties over many seeds and fixtures."""
import itertools
import pickle
import random
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditcycle.sampling.draw import (
    Allocation,
    AllocationImpossible,
    Auditor,
    Candidate,
    allocate,
    draw_sample,
    may_audit,
    redraw_one,
    team_quotas,
)

TEAM_SIZES = {
    "Adoption": 3,
    "Fostering": 17,
    "Leaving Care": 40,
    "Disabled Children": 55,
    "Child Protection": 90,
    "Children in Care": 130,
    "Family Support": 200,
    "Assessment North": 465,
}
N = sum(TEAM_SIZES.values())  # 1,000


def make_candidates(team_sizes: dict[str, int]) -> list[Candidate]:
    """Build children numbered per team (C<team index><number>), with a key worker and manager in that team."""
    return [
        Candidate(
            child_id=f"C{t}{i:03d}",
            team=team,
            key_worker_id=f"KW-{team}-{i % 7}",
            key_worker_manager_id=f"MGR-{team}",
        )
        for t, (team, count) in enumerate(team_sizes.items())
        for i in range(count)
    ]


CANDIDATES = make_candidates(TEAM_SIZES)


def make_auditors(count: int, teams: list[str], new_every: int = 4) -> list[Auditor]:
    """Build auditors spread round the teams, every `new_every`-th of them new."""
    return [
        Auditor(staff_id=f"A{i:03d}", team=teams[i % len(teams)], new=i % new_every == new_every - 1)
        for i in range(count)
    ]


def assert_no_conflicts(sample: list[Candidate], auditors: list[Auditor], allocations: list[Allocation]) -> None:
    by_child = {c.child_id: c for c in sample}
    by_staff = {a.staff_id: a for a in auditors}
    for allocation in allocations:
        child = by_child[allocation.child_id]
        auditor = by_staff[allocation.auditor_id]
        assert auditor.team != child.team
        assert auditor.staff_id != child.key_worker_manager_id
        assert auditor.staff_id != child.key_worker_id
        if auditor.new:
            buddy = by_staff[allocation.buddy_id]
            assert not buddy.new
            assert may_audit(buddy, child)
        else:
            assert allocation.buddy_id is None


# --- quotas and the stratified draw ------------------------------------------------------------


def test_team_quotas_within_one_of_share_over_1000_seeds() -> None:
    size = 40
    for seed in range(1000):
        quotas = team_quotas(TEAM_SIZES, size, random.Random(seed))

        assert sum(quotas.values()) == size
        for team, n in TEAM_SIZES.items():
            share = Fraction(size * n, N)
            assert abs(quotas[team] - share) <= 1, (seed, team, quotas[team], share)
            assert quotas[team] >= 1


def test_draw_sample_team_counts_match_quotas_over_1000_seeds() -> None:
    size = 40
    for seed in range(1000):
        quotas = team_quotas(TEAM_SIZES, size, random.Random(seed))

        sample = draw_sample(CANDIDATES, size, seed)

        counts = Counter(c.team for c in sample)
        assert len(sample) == size
        assert len({c.child_id for c in sample}) == size
        for team, n in TEAM_SIZES.items():
            assert abs(counts[team] - quotas[team]) <= 1
            assert abs(counts[team] - Fraction(size * n, N)) <= 1
            assert counts[team] >= 1


def test_team_quotas_break_remainder_ties_at_random() -> None:
    # Shares are 1.5 and 1.5: one seat goes by remainder, and either team may win it.
    winners = Counter(
        max(quotas, key=quotas.get)
        for quotas in (team_quotas({"A": 10, "B": 10}, 3, random.Random(seed)) for seed in range(200))
    )

    assert set(winners) == {"A", "B"}
    assert min(winners.values()) >= 60


def test_team_quotas_same_seed_breaks_ties_the_same_way() -> None:
    first = [team_quotas({"A": 10, "B": 10, "C": 10}, 4, random.Random(seed)) for seed in range(50)]
    again = [team_quotas({"C": 10, "B": 10, "A": 10}, 4, random.Random(seed)) for seed in range(50)]

    assert first == again


def test_team_quotas_minimum_takes_seat_from_largest_excess() -> None:
    # Shares: 0.4, 2.6, 3.0. Largest remainder gives 0, 3, 3; the tiny team's seat must come from
    # the team rounded up (2.6 -> 2), not the exact one (3.0 -> 2 would also be within one, but
    # its quota does not exceed its share).
    quotas = team_quotas({"tiny": 2, "mid": 13, "big": 15}, 6, random.Random(0))

    assert quotas == {"big": 3, "mid": 2, "tiny": 1}


def test_team_quotas_many_tiny_teams_push_big_team_below_share() -> None:
    # The documented exception: shares 2.8, 0.1, 0.1 with three seats can only be 1, 1, 1.
    quotas = team_quotas({"big": 28, "small1": 1, "small2": 1}, 3, random.Random(0))

    assert quotas == {"big": 1, "small1": 1, "small2": 1}


def test_team_quotas_exact_shares_need_no_randomness() -> None:
    results = {tuple(team_quotas({"A": 25, "B": 75}, 8, random.Random(seed)).items()) for seed in range(20)}

    assert results == {(("A", 2), ("B", 6))}


def test_team_quotas_empty_team_gets_zero() -> None:
    quotas = team_quotas({"A": 0, "B": 5, "C": 5}, 4, random.Random(0))

    assert quotas == {"A": 0, "B": 2, "C": 2}


def test_team_quotas_never_exceed_eligible_count() -> None:
    for seed in range(200):
        quotas = team_quotas({"A": 1, "B": 2, "C": 50}, 52, random.Random(seed))

        assert quotas == {"A": 1, "B": 2, "C": 49}


def test_team_quotas_size_below_team_count_draws_distinct_teams_one_each() -> None:
    for seed in range(200):
        quotas = team_quotas(TEAM_SIZES, 3, random.Random(seed))

        assert sorted(quotas.values()) == [0, 0, 0, 0, 0, 1, 1, 1]


def test_team_quotas_size_below_team_count_favours_large_teams() -> None:
    drawn = Counter()
    for seed in range(1000):
        quotas = team_quotas(TEAM_SIZES, 3, random.Random(seed))
        drawn.update(team for team, quota in quotas.items() if quota)

    # Assessment North holds 46.5% of the caseload, Adoption 0.3%.
    assert drawn["Assessment North"] >= 800
    assert drawn["Adoption"] < 200
    by_size = sorted(TEAM_SIZES, key=TEAM_SIZES.get)
    assert drawn[by_size[-1]] > drawn[by_size[-2]] > drawn[by_size[-3]] > drawn[by_size[0]]


def test_draw_sample_size_below_team_count_gives_one_child_from_each_drawn_team() -> None:
    sample = draw_sample(CANDIDATES, 5, seed=11)

    counts = Counter(c.team for c in sample)
    assert len(counts) == 5
    assert set(counts.values()) == {1}


def test_draw_sample_same_seed_gives_identical_sample() -> None:
    first = draw_sample(CANDIDATES, 40, seed=2026)
    second = draw_sample(CANDIDATES, 40, seed=2026)

    assert first == second


def test_draw_sample_different_seeds_give_different_samples() -> None:
    samples = {tuple(c.child_id for c in draw_sample(CANDIDATES, 40, seed)) for seed in range(50)}

    assert len(samples) == 50


def test_draw_sample_input_order_does_not_change_result() -> None:
    shuffled = CANDIDATES[:]
    random.Random(99).shuffle(shuffled)

    assert draw_sample(shuffled, 40, seed=5) == draw_sample(CANDIDATES, 40, seed=5)


def test_draw_sample_orders_by_team() -> None:
    sample = draw_sample(CANDIDATES, 40, seed=3)

    teams = [c.team for c in sample]
    assert teams == sorted(teams)


def test_draw_sample_size_above_eligible_returns_everyone() -> None:
    small = make_candidates({"A": 3, "B": 4})

    sample = draw_sample(small, 50, seed=1)

    assert sorted(c.child_id for c in sample) == sorted(c.child_id for c in small)


def test_draw_sample_size_zero_returns_nothing() -> None:
    assert draw_sample(CANDIDATES, 0, seed=1) == []


def test_draw_sample_rejects_duplicate_child_ids() -> None:
    with pytest.raises(ValueError, match="C0000"):
        draw_sample(CANDIDATES + CANDIDATES[:1], 10, seed=1)


def test_draw_sample_draws_uniformly_within_a_team() -> None:
    # Two seats from a team of four: each child should appear about half the time.
    four = make_candidates({"Only": 4})

    seen = Counter(c.child_id for seed in range(2000) for c in draw_sample(four, 2, seed))

    assert all(850 <= count <= 1150 for count in seen.values())
    assert len(seen) == 4


def test_redraw_one_stays_in_team_and_skips_excluded() -> None:
    sample = draw_sample(CANDIDATES, 40, seed=8)
    replaced = next(c for c in sample if c.team == "Fostering")
    exclude = {c.child_id for c in sample}

    for seed in range(100):
        replacement = redraw_one(CANDIDATES, "Fostering", exclude, seed)

        assert replacement.team == "Fostering"
        assert replacement.child_id not in exclude
        assert replacement != replaced


def test_redraw_one_same_seed_gives_same_child() -> None:
    shuffled = CANDIDATES[::-1]

    first = redraw_one(CANDIDATES, "Children in Care", {"C5001"}, seed=4)
    second = redraw_one(shuffled, "Children in Care", {"C5001"}, seed=4)

    assert first == second


def test_redraw_one_exhausted_team_returns_none() -> None:
    adoption = {c.child_id for c in CANDIDATES if c.team == "Adoption"}

    assert redraw_one(CANDIDATES, "Adoption", adoption, seed=1) is None


# --- allocation --------------------------------------------------------------------------------


TEAMS = list(TEAM_SIZES)


def test_allocate_loads_differ_by_at_most_one_when_pool_allows() -> None:
    sample = draw_sample(CANDIDATES, 100, seed=1)
    auditors = make_auditors(30, TEAMS)

    for seed in range(20):
        allocations = allocate(sample, auditors, seed)

        loads = Counter(a.auditor_id for a in allocations)
        assert len(allocations) == 100
        assert sorted(set(loads.values())) == [3, 4]
        assert len(loads) == 30
        assert_no_conflicts(sample, auditors, allocations)


def test_allocate_extra_child_goes_to_each_auditor_in_turn_across_seeds() -> None:
    # Seven children over three auditors: someone takes three, and who it is should depend on the seed.
    sample = [Candidate(f"C{i}", "North", "KW", None) for i in range(7)]
    auditors = [Auditor(f"A{i}", "South", False) for i in range(3)]

    busiest = Counter(
        Counter(a.auditor_id for a in allocate(sample, auditors, seed)).most_common(1)[0][0] for seed in range(90)
    )

    assert set(busiest) == {"A0", "A1", "A2"}
    assert min(busiest.values()) >= 15


def test_allocate_greedy_stuck_fixture_is_allocated() -> None:
    # Natural-order greedy (each child to the first auditor with room, room = ceil(3/3) = 1):
    #   C1 (team North)   -> A1 (South): fine
    #   C2 (team South)   -> A1 is full, A2 is in South, A3 manages C2's key worker -> stuck.
    # A valid allocation exists: C1 -> A2, C2 -> A1, C3 -> A3.
    sample = [
        Candidate("C1", "North", "KW1", "M1"),
        Candidate("C2", "South", "KW2", "A3"),
        Candidate("C3", "South", "KW3", "M3"),
    ]
    auditors = [Auditor("A1", "West", False), Auditor("A2", "South", False), Auditor("A3", "North", False)]

    for seed in range(50):
        allocations = allocate(sample, auditors, seed)

        assert {a.child_id: a.auditor_id for a in allocations} == {"C1": "A2", "C2": "A1", "C3": "A3"}


def test_allocate_impossible_fixture_names_child_and_reason() -> None:
    sample = [
        Candidate("C100044", "Family Support", "KW1", "M1"),
        Candidate("C100045", "Assessment North", "KW2", "A3"),
    ]
    auditors = [
        Auditor("A1", "Assessment North", False),
        Auditor("A2", "Assessment North", False),
        Auditor("A3", "Family Support", False),
    ]

    with pytest.raises(AllocationImpossible) as raised:
        allocate(sample, auditors, seed=1)

    assert raised.value.child_ids == ["C100045"]
    assert str(raised.value) == (
        "Cannot allocate every child. C100045: every auditor is in team Assessment North "
        "or manages its key worker KW2"
    )


def test_allocate_impossible_when_only_new_auditors_are_free() -> None:
    sample = [Candidate("C1", "North", "KW1", None)]
    auditors = [Auditor("A1", "North", False), Auditor("A2", "South", True)]

    with pytest.raises(AllocationImpossible, match="C1: every auditor is in team North or is new with no"):
        allocate(sample, auditors, seed=1)


def test_allocate_impossible_when_capacity_runs_out() -> None:
    sample = [Candidate(f"C{i}", "North", "KW", None) for i in range(3)]
    auditors = [Auditor("A1", "South", False, capacity=1), Auditor("A2", "North", False)]

    with pytest.raises(AllocationImpossible) as raised:
        allocate(sample, auditors, seed=1)

    assert len(raised.value.child_ids) == 2
    assert "(A1) have all reached their capacity" in str(raised.value)


def test_allocation_impossible_survives_pickling() -> None:
    error = AllocationImpossible({"C1": "every auditor is in team North"})

    restored = pickle.loads(pickle.dumps(error))

    assert str(restored) == str(error)


def test_allocate_minimises_max_load_when_evenness_impossible() -> None:
    # Six North children can only go to A1 or A2; A3 (North) can take only the South child.
    sample = [Candidate(f"N{i}", "North", "KW", None) for i in range(6)] + [Candidate("S1", "South", "KW", None)]
    auditors = [Auditor("A1", "West", False), Auditor("A2", "West", False), Auditor("A3", "North", False)]

    allocations = allocate(sample, auditors, seed=3)

    assert Counter(a.auditor_id for a in allocations) == {"A1": 3, "A2": 3, "A3": 1}


def test_allocate_respects_capacity() -> None:
    sample = [Candidate(f"C{i}", "North", "KW", None) for i in range(10)]
    auditors = [Auditor("A1", "South", False, capacity=1)] + [Auditor(f"B{i}", "South", False) for i in range(3)]

    allocations = allocate(sample, auditors, seed=2)

    assert Counter(a.auditor_id for a in allocations) == {"A1": 1, "B0": 3, "B1": 3, "B2": 3}


def test_allocate_new_auditors_get_eligible_experienced_buddy() -> None:
    sample = draw_sample(CANDIDATES, 120, seed=4)
    auditors = make_auditors(40, TEAMS, new_every=3)

    allocations = allocate(sample, auditors, seed=4)

    new_ids = {a.staff_id for a in auditors if a.new}
    assert sum(a.auditor_id in new_ids for a in allocations) == 39
    assert_no_conflicts(sample, auditors, allocations)


def test_allocate_buddy_is_never_conflicted() -> None:
    # E2 manages the North children's key worker, so only E1 may buddy N1 on them.
    sample = [Candidate(f"N{i}", "North", "KW", "E2") for i in range(6)]
    auditors = [Auditor("E1", "South", False), Auditor("E2", "West", False), Auditor("N1", "East", True)]

    for seed in range(30):
        allocations = allocate(sample, auditors, seed)

        assert {a.buddy_id for a in allocations if a.auditor_id == "N1"} == {"E1"}
        assert Counter(a.auditor_id for a in allocations) == {"E1": 3, "N1": 3}


def test_allocate_spreads_buddy_duties() -> None:
    sample = [Candidate(f"C{i:02d}", "North", "KW", None) for i in range(30)]
    auditors = [Auditor(f"E{i}", "South", False) for i in range(4)] + [
        Auditor(f"N{i}", "South", True) for i in range(6)
    ]

    allocations = allocate(sample, auditors, seed=5)

    buddies = Counter(a.buddy_id for a in allocations if a.buddy_id)
    assert sum(buddies.values()) == 18
    assert sorted(buddies.values()) == [4, 4, 5, 5]


def test_allocate_same_seed_gives_same_allocation() -> None:
    sample = draw_sample(CANDIDATES, 60, seed=1)
    auditors = make_auditors(25, TEAMS)

    assert allocate(sample, auditors, seed=9) == allocate(sample, auditors, seed=9)


def test_allocate_different_seeds_give_different_allocations() -> None:
    sample = draw_sample(CANDIDATES, 60, seed=1)
    auditors = make_auditors(25, TEAMS)

    results = {tuple(allocate(sample, auditors, seed)) for seed in range(30)}

    assert len(results) == 30


def test_allocate_input_order_does_not_change_result() -> None:
    sample = draw_sample(CANDIDATES, 60, seed=1)
    auditors = make_auditors(25, TEAMS)

    forwards = allocate(sample, auditors, seed=9)
    backwards = allocate(sample[::-1], auditors[::-1], seed=9)

    assert set(backwards) == set(forwards)
    assert [a.child_id for a in backwards] == [c.child_id for c in sample[::-1]]


def test_allocate_empty_sample_returns_nothing() -> None:
    assert allocate([], make_auditors(3, TEAMS), seed=1) == []


# --- allocation against brute force on small random pools -------------------------------------


SMALL_TEAMS = ["North", "South", "East"]
STAFF = [f"S{i}" for i in range(5)]


@st.composite
def small_pools(draw: st.DrawFn) -> tuple[list[Candidate], list[Auditor], int]:
    auditor_count = draw(st.integers(1, 4))
    auditors = [
        Auditor(
            staff_id=STAFF[i],
            team=draw(st.sampled_from(SMALL_TEAMS + [None])),
            new=draw(st.booleans()),
            capacity=draw(st.none() | st.integers(0, 3)),
        )
        for i in range(auditor_count)
    ]
    child_count = draw(st.integers(1, 6))
    sample = [
        Candidate(
            child_id=f"C{i}",
            team=draw(st.sampled_from(SMALL_TEAMS)),
            key_worker_id=draw(st.sampled_from(STAFF)),
            key_worker_manager_id=draw(st.none() | st.sampled_from(STAFF)),
        )
        for i in range(child_count)
    ]
    return sample, auditors, draw(st.integers(0, 10_000))


def allowed(auditor: Auditor, child: Candidate, auditors: list[Auditor]) -> bool:
    """Restate the rules independently: no conflict, and a new auditor needs a possible buddy."""
    if not may_audit(auditor, child):
        return False
    return not auditor.new or any(not b.new and may_audit(b, child) for b in auditors)


def brute_force_loads(sample: list[Candidate], auditors: list[Auditor]) -> list[tuple[int, ...]]:
    """Return the load vector of every valid complete allocation."""
    options = [[j for j, a in enumerate(auditors) if allowed(a, c, auditors)] for c in sample]
    results = []
    for choice in itertools.product(*options):
        loads = tuple(choice.count(j) for j in range(len(auditors)))
        if all(a.capacity is None or load <= a.capacity for a, load in zip(auditors, loads)):
            results.append(loads)
    return results


@settings(max_examples=300, deadline=None)
@given(small_pools())
def test_allocate_agrees_with_brute_force(pool: tuple[list[Candidate], list[Auditor], int]) -> None:
    sample, auditors, seed = pool
    feasible = brute_force_loads(sample, auditors)
    n, m = len(sample), len(auditors)
    even = {n // m, -(-n // m)}

    if not feasible:
        with pytest.raises(AllocationImpossible):
            allocate(sample, auditors, seed)
        return
    allocations = allocate(sample, auditors, seed)

    assert_no_conflicts(sample, auditors, allocations)
    assert [a.child_id for a in allocations] == [c.child_id for c in sample]
    counts = Counter(a.auditor_id for a in allocations)
    loads = tuple(counts[a.staff_id] for a in auditors)
    assert loads in feasible
    assert max(loads) == min(max(option) for option in feasible)
    if any(set(option) <= even for option in feasible):
        assert set(loads) <= even


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32), st.integers(20, 120), st.integers(3, 25))
def test_allocate_never_breaks_conflict_rules(seed: int, children: int, auditor_count: int) -> None:
    rng = random.Random(seed)
    staff = [f"A{i:03d}" for i in range(auditor_count)]
    auditors = [Auditor(s, rng.choice(TEAMS + [None]), rng.random() < 0.3) for s in staff]
    sample = [
        Candidate(f"C{i:04d}", rng.choice(TEAMS), rng.choice(staff), rng.choice(staff + [None]))
        for i in range(children)
    ]

    try:
        allocations = allocate(sample, auditors, seed)
    except AllocationImpossible as error:
        # Only children nobody may take are refused, since no auditor here has a capacity.
        assert error.child_ids
        for child_id in error.child_ids:
            child = next(c for c in sample if c.child_id == child_id)
            assert not any(allowed(a, child, auditors) for a in auditors)
        return

    assert_no_conflicts(sample, auditors, allocations)
    assert len(allocations) == children
