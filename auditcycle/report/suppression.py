"""Small-cell suppression: which cells of a published table to hide so no small count can be read or worked out.

A table is its interior counts with every row total and every column total published. A cell under the
threshold (but not zero) is hidden: primary suppression. Hiding it alone is not enough, because its row
total minus the rest of the row gives it back; so further cells are hidden until no hidden cell can be
recovered from the totals by any combination of sums and subtractions: complementary (secondary)
suppression.

A hidden cell can be recovered exactly when, in the graph whose vertices are the table's rows and columns
and whose edges are the hidden cells, its edge is a bridge (in no cycle): then adding its side's row totals
and subtracting its side's column totals isolates it. On a cycle, one can add one to every other cell of the
cycle and take one from the rest and every total still holds, so the cell is not determined. Complements are
chosen among non-zero cells where there is one, smallest first, so that such a step is possible in both
directions (a zero cannot give one up) and a reader knowing that counts are never negative learns no value.

A table of one row (or one column) cannot be protected this way: its column (row) totals are its cells.
"""
from collections import defaultdict
from collections.abc import Sequence

Cell = tuple[int, int]


def primary_cells(table: Sequence[Sequence[int]], *, threshold: int) -> set[Cell]:
    """Return the cells under the threshold, zeros aside: those that would show a small count."""
    return {(r, c) for r, row in enumerate(table) for c, value in enumerate(row) if 0 < value < threshold}


def recoverable_cells(shape: tuple[int, int], hidden: set[Cell]) -> set[Cell]:
    """Return the hidden cells a reader could work out exactly from the row and column totals and the cells shown."""
    rows, columns = shape
    # Vertices: rows 0..rows-1, then columns rows..rows+columns-1; each hidden cell is an edge.
    edges = sorted(hidden)
    adjacent: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for index, (r, c) in enumerate(edges):
        adjacent[r].append((rows + c, index))
        adjacent[rows + c].append((r, index))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    bridges: set[Cell] = set()
    for start in range(rows + columns):
        if start in order or start not in adjacent:
            continue
        # Tarjan's bridge search, iteratively: a table's graph is small but recursion depth should not depend on it.
        order[start] = low[start] = len(order)
        stack = [(start, -1, iter(adjacent[start]))]
        while stack:
            vertex, via, neighbours = stack[-1]
            for neighbour, edge in neighbours:
                if edge == via:
                    continue
                if neighbour in order:
                    low[vertex] = min(low[vertex], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = len(order)
                    stack.append((neighbour, edge, iter(adjacent[neighbour])))
                    break
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[vertex])
                    if low[vertex] > order[parent]:
                        bridges.add(edges[via])
    return bridges


def _side(hidden: set[Cell], bridge: Cell, *, from_row: bool) -> tuple[set[int], set[int]]:
    """Return the rows and columns reachable from one end of a bridge without crossing it."""
    rows_seen: set[int] = {bridge[0]} if from_row else set()
    columns_seen: set[int] = set() if from_row else {bridge[1]}
    frontier = [(from_row, bridge[0] if from_row else bridge[1])]
    while frontier:
        is_row, index = frontier.pop()
        for r, c in hidden:
            if (r, c) == bridge:
                continue
            if is_row and r == index and c not in columns_seen:
                columns_seen.add(c)
                frontier.append((False, c))
            elif not is_row and c == index and r not in rows_seen:
                rows_seen.add(r)
                frontier.append((True, r))
    return rows_seen, columns_seen


def _smallest(table: Sequence[Sequence[int]], candidates: list[Cell]) -> Cell | None:
    # Non-zero first (see the module's docstring), then the smallest, then the first in reading order.
    return min(candidates, key=lambda cell: (table[cell[0]][cell[1]] == 0, table[cell[0]][cell[1]], cell),
               default=None)


def suppressed_cells(table: Sequence[Sequence[int]], *, threshold: int) -> frozenset[Cell]:
    """Return the cells to hide: those under the threshold, and the fewest smallest others that stop them being worked out."""
    rows = len(table)
    columns = len(table[0]) if rows else 0
    hidden = primary_cells(table, threshold=threshold)
    if rows < 2 or columns < 2:
        return frozenset(hidden)  # nothing can protect it (see the module's docstring)
    every = [(r, c) for r in range(rows) for c in range(columns)]
    while bridges := sorted(recoverable_cells((rows, columns), hidden)):
        bridge = bridges[0]
        rows_a, columns_a = _side(hidden, bridge, from_row=True)
        rows_b, columns_b = _side(hidden, bridge, from_row=False)
        shown = [cell for cell in every if cell not in hidden]
        # A cell joining the bridge's two sides puts it on a cycle; failing one, a cell reaching out of its
        # component (along a row or column it touches) makes a path a later cell can close.
        joining = [(r, c) for r, c in shown if (r in rows_a and c in columns_b) or (r in rows_b and c in columns_a)]
        reaching = [(r, c) for r, c in shown if (r in rows_a | rows_b) != (c in columns_a | columns_b)]
        choice = _smallest(table, joining) or _smallest(table, reaching)
        if choice is None:
            break  # every cell is hidden already
        hidden.add(choice)
    return frozenset(hidden)
