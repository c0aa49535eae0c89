"""Draw the monthly audit sample and allocate auditors to it.

Pure functions over plain frozen values: no database, no clock, no I/O. Every random choice
comes from `random.Random(seed)`, so the same seed and the same inputs always give the same
sample and the same allocation, whatever order the inputs arrive in.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from auditcycle.core.errors import UserError

T = TypeVar("T")


# --- stratified draw ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A child eligible for this month's audit, with the facts that decide who may audit them."""

    child_id: str
    team: str  # the stratum
    key_worker_id: str
    key_worker_manager_id: str | None
    iro_id: str | None = None
    cp_chair_id: str | None = None
    service_manager_ids: frozenset[str] = frozenset()  # the managers of the service the child's team is in

    @property
    def conflicts(self) -> dict[str, str]:
        """Map each member of staff who may not audit this child to their part in the child's case."""
        parts = [(self.key_worker_manager_id, f"manages its key worker {self.key_worker_id}"),
                 (self.key_worker_id, "is its key worker"),
                 # The IRO or CP chair has a conversation with the auditor, so cannot be the auditor.
                 (self.iro_id, "is its IRO"), (self.cp_chair_id, "is its CP chair"),
                 *((staff_id, "is its service manager") for staff_id in sorted(self.service_manager_ids))]
        found: dict[str, str] = {}
        for staff_id, part in parts:
            if staff_id is not None:
                found.setdefault(staff_id, part)
        return found

    @property
    def conflicted_staff(self) -> frozenset[str]:
        """Return the staff who may not audit this child: key worker, their manager, IRO, CP chair, service manager."""
        return frozenset(self.conflicts)


def team_quotas(eligible_by_team: Mapping[str, int], size: int, rng: random.Random) -> dict[str, int]:
    """Split a sample size across teams in proportion to caseload, at least one per team when there is room.

    Seats go by the largest-remainder method: each team gets the floor of its exact share
    size * n / N, then the seats left over go to the largest fractional remainders, ties broken
    at random. If that leaves a non-empty team with nothing, and there are at least as many seats
    as teams, the team gets one seat, taken from the team whose quota most exceeds its share.
    Every quota then stays within one of its share, except where that is impossible: when several
    tiny teams must each have a seat, a big team may have to fall more than one below its share
    (three seats over shares 2.8, 0.1, 0.1 can only be 1, 1, 1). The forced seats themselves are
    always within one, because 0 < share < 1.

    With fewer seats than teams, `size` teams are drawn at random, weighted by caseload, without
    replacement, and each gets one seat. A size above the total caseload is capped at it. Every
    key of `eligible_by_team` appears in the result; empty teams get 0.
    """
    if any(n < 0 for n in eligible_by_team.values()):
        raise ValueError("eligible counts cannot be negative")
    quotas = {team: 0 for team in sorted(eligible_by_team)}
    # Name order, not mapping order, so a seed means the same thing however the counts were built.
    teams = [team for team in quotas if eligible_by_team[team] > 0]
    total = sum(eligible_by_team[team] for team in teams)
    size = max(0, min(size, total))
    if size == 0:
        return quotas
    if size < len(teams):
        for team in _weighted_draw(teams, [eligible_by_team[t] for t in teams], size, rng):
            quotas[team] = 1
        return quotas

    tiebreak = {team: rng.random() for team in teams}
    # Integer arithmetic throughout: share = size * n / total exactly, so no float ties are lost.
    for team in teams:
        quotas[team] = size * eligible_by_team[team] // total
    left_over = size - sum(quotas.values())
    by_remainder = sorted(teams, key=lambda t: (-(size * eligible_by_team[t] % total), tiebreak[t]))
    for team in by_remainder[:left_over]:
        quotas[team] += 1

    def excess(team: str) -> int:
        # quota - share, scaled by total to stay an integer
        return quotas[team] * total - size * eligible_by_team[team]

    for team in teams:
        if quotas[team] == 0:
            # Someone has two or more, because size >= len(teams) and this team has none.
            donor = max((t for t in teams if quotas[t] >= 2), key=lambda t: (excess(t), tiebreak[t]))
            quotas[donor] -= 1
            quotas[team] = 1
    return quotas


def _weighted_draw(items: Sequence[str], weights: Sequence[int], k: int, rng: random.Random) -> list[str]:
    """Draw k items without replacement, each draw weighted by the weights of those still left."""
    pool = list(zip(items, weights))
    chosen: list[str] = []
    for _ in range(k):
        ticket = rng.randrange(sum(weight for _, weight in pool))
        for index, (item, weight) in enumerate(pool):
            if ticket < weight:
                chosen.append(item)
                del pool[index]
                break
            ticket -= weight
    return chosen


def draw_sample(candidates: Sequence[Candidate], size: int, seed: int) -> list[Candidate]:
    """Draw a stratified random sample of children, ordered by team and then by draw."""
    rng = random.Random(seed)
    by_team: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in _sorted_unique(candidates, lambda c: c.child_id, "child"):
        by_team[candidate.team].append(candidate)
    quotas = team_quotas({team: len(group) for team, group in by_team.items()}, size, rng)
    sample: list[Candidate] = []
    for team in sorted(by_team):
        sample.extend(rng.sample(by_team[team], quotas[team]))
    return sample


def redraw_one(candidates: Sequence[Candidate], team: str, exclude: set[str], seed: int) -> Candidate | None:
    """Draw one replacement child from a team, skipping excluded ids; None when the team has no one left."""
    pool = [
        c
        for c in _sorted_unique(candidates, lambda c: c.child_id, "child")
        if c.team == team and c.child_id not in exclude
    ]
    return random.Random(seed).choice(pool) if pool else None


# --- allocation of auditors --------------------------------------------------------------------


@dataclass(frozen=True)
class Auditor:
    """A member of staff who can audit cases this month."""

    staff_id: str
    team: str | None
    new: bool  # a new auditor must be paired with an experienced one
    capacity: int | None = None  # optional cap; None = no cap beyond evenness


@dataclass(frozen=True)
class Allocation:
    """Who audits one child, and who buddies them if they are new."""

    child_id: str
    auditor_id: str
    buddy_id: str | None  # the experienced auditor paired with a new auditor, else None


class AllocationImpossible(UserError):
    """Some children cannot be given an auditor; the message names each one and says why."""

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self.reasons = dict(reasons)
        # The dict is the only argument so the exception survives pickling between processes.
        super().__init__(self.reasons)

    @property
    def child_ids(self) -> list[str]:
        """Return the ids of the children that cannot be placed."""
        return list(self.reasons)

    def __str__(self) -> str:
        # Grouped by reason, so a pool that fails hundreds of children for one cause reads as one line.
        by_reason: dict[str, list[str]] = defaultdict(list)
        for child_id, reason in self.reasons.items():
            by_reason[reason].append(child_id)
        return "Cannot allocate every child. " + "; ".join(
            f"{', '.join(child_ids)}: {reason}" for reason, child_ids in by_reason.items()
        )


def may_audit(auditor: Auditor, child: Candidate) -> bool:
    """Say whether the conflict rule lets this auditor audit (or buddy) this child: not of its team, no part in its case."""
    return auditor.team != child.team and auditor.staff_id not in child.conflicted_staff


def allocate(sample: Sequence[Candidate], auditors: Sequence[Auditor], seed: int) -> list[Allocation]:
    """Give every sampled child a conflict-free auditor, spreading the load as evenly as the pool allows.

    Returns one allocation per child in the order of `sample`. Raises AllocationImpossible when
    some child cannot be placed.
    """
    children = _sorted_unique(sample, lambda c: c.child_id, "child")
    pool = _sorted_unique(auditors, lambda a: a.staff_id, "auditor")
    if not children:
        return []
    rng = random.Random(seed)
    # Sorted first, then shuffled: fair between people, and independent of input order.
    rng.shuffle(children)
    rng.shuffle(pool)

    everyone = (1 << len(pool)) - 1
    team_bits: dict[str | None, int] = defaultdict(int)
    staff_bit: dict[str, int] = {}
    experienced = 0
    for index, auditor in enumerate(pool):
        bit = 1 << index
        team_bits[auditor.team] |= bit
        staff_bit[auditor.staff_id] = bit
        if not auditor.new:
            experienced |= bit

    audit_masks: list[int] = []
    buddy_masks: list[int] = []
    for child in children:
        # The bitmask form of may_audit: the child's team and its conflicted staff.
        conflicted = team_bits.get(child.team, 0)
        for staff_id in child.conflicted_staff:
            conflicted |= staff_bit.get(staff_id, 0)
        free = everyone & ~conflicted
        buddies = free & experienced
        buddy_masks.append(buddies)
        # Without a conflict-free experienced buddy, nobody may take the child: the experienced
        # are all conflicted, and a new auditor would have no one to pair with.
        audit_masks.append(free if buddies else 0)

    unplaceable = {
        child.child_id: _conflict_reason(child, pool)
        for child, mask in zip(children, audit_masks)
        if not mask
    }
    if unplaceable:
        raise AllocationImpossible(dict(sorted(unplaceable.items())))

    owner = _spread(audit_masks, [a.capacity for a in pool])
    full = {
        children[i].child_id: _capacity_reason(audit_masks[i], pool)
        for i, j in enumerate(owner)
        if j < 0
    }
    if full:
        raise AllocationImpossible(dict(sorted(full.items())))

    # Buddying is a second, independent spread, so buddy duty is as even as the conflicts allow.
    mentored = [i for i, j in enumerate(owner) if pool[j].new]
    buddy_of = dict(zip(mentored, _spread([buddy_masks[i] for i in mentored], [None] * len(pool))))

    by_child = {
        child.child_id: Allocation(
            child_id=child.child_id,
            auditor_id=pool[owner[i]].staff_id,
            buddy_id=pool[buddy_of[i]].staff_id if i in buddy_of else None,
        )
        for i, child in enumerate(children)
    }
    return [by_child[child.child_id] for child in sample]


def _spread(masks: Sequence[int], caps: Sequence[int | None]) -> list[int]:
    """Give each item one slot from its bitmask, minimising the largest load; -1 where impossible.

    Progressive filling: raise every slot's limit one level at a time (1, 2, 3, ...) and, at each
    level, grow the assignment to a maximum b-matching with augmenting paths. Loads only ever go
    up, so if an assignment with every load in {floor(n/m), ceil(n/m)} exists, each slot is full
    at floor(n/m) before anyone is given ceil(n/m); and the first level at which everything fits
    is the least possible maximum load. Searches are BFS over bitmasks, so a step costs a few
    big-integer operations per item reached rather than one per edge.
    """
    owner = [-1] * len(masks)
    members: list[list[int]] = [[] for _ in caps]
    free = list(range(len(masks)))
    level = 0
    while free:
        level += 1
        limits = [level if cap is None else min(level, cap) for cap in caps]
        spare = sum(1 << j for j, (held, limit) in enumerate(zip(members, limits)) if len(held) < limit)
        # Slots that a failed search reached. A failed search explores a Hungarian tree, which can
        # never lead to a spare slot again at this level, so later searches skip it.
        blocked = 0
        stuck: list[int] = []
        for root in free:
            reached_via: dict[int, int] = {}
            seen = {root}
            queue = [root]
            visited = blocked
            placed = False
            for item in queue:
                reach = masks[item] & ~visited
                if not reach:
                    continue
                hit = reach & spare
                if hit:
                    slot = (hit & -hit).bit_length() - 1
                    # Shift along the path: each item moves to the slot that reached it, back to the root.
                    while True:
                        previous = owner[item]
                        owner[item] = slot
                        members[slot].append(item)
                        if len(members[slot]) >= limits[slot]:
                            spare &= ~(1 << slot)
                        if previous < 0:
                            break
                        members[previous].remove(item)
                        slot, item = previous, reached_via[previous]
                    placed = True
                    break
                visited |= reach
                while reach:
                    low = reach & -reach
                    reach ^= low
                    slot = low.bit_length() - 1
                    reached_via[slot] = item
                    for other in members[slot]:
                        if other not in seen:
                            seen.add(other)
                            queue.append(other)
            if not placed:
                blocked = visited
                stuck.append(root)
        free = stuck
        # Another level only helps if it raises the limit of a slot the stuck items can reach.
        if free and not any(
            blocked >> j & 1 and (cap is None or cap > level) for j, cap in enumerate(caps)
        ):
            break
    return owner


def _conflict_reason(child: Candidate, pool: Sequence[Auditor]) -> str:
    """Explain in plain words why no auditor in the pool may take a child."""
    if not pool:
        return "there are no auditors this month"
    reasons: list[str] = []
    if any(a.team == child.team for a in pool):
        reasons.append(f"is in team {child.team}")
    in_pool = {a.staff_id for a in pool}
    for staff_id, part in child.conflicts.items():
        if staff_id in in_pool and part not in reasons:
            reasons.append(part)
    if any(a.new and may_audit(a, child) for a in pool):
        reasons.append("is new with no conflict-free experienced auditor to buddy them")
    # Each phrase carries its own verb, so any one of them reads alone: "every auditor is its IRO".
    return "every auditor " + _or_join(reasons)


def _capacity_reason(mask: int, pool: Sequence[Auditor]) -> str:
    """Explain that every auditor free to take a child is already at their limit."""
    names = sorted(a.staff_id for j, a in enumerate(pool) if mask >> j & 1)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} others" if len(names) > 5 else "")
    return f"the auditors free of conflicts for it ({shown}) have all reached their capacity"


def _or_join(parts: Sequence[str]) -> str:
    """Join phrases as 'a, b or c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _sorted_unique(items: Iterable[T], key: Callable[[T], str], what: str) -> list[T]:
    """Sort items by their id, refusing duplicates, so results never depend on input order."""
    ordered = sorted(items, key=key)
    for before, after in zip(ordered, ordered[1:]):
        if key(before) == key(after):
            raise ValueError(f"{what} {key(before)} appears more than once")
    return ordered
