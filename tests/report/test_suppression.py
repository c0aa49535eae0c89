"""Small-cell suppression: cells under the threshold hidden, and enough others that none can be worked out."""
from fractions import Fraction
from itertools import product

from hypothesis import given, settings
from hypothesis import strategies as st

from auditcycle.report.suppression import primary_cells, recoverable_cells, suppressed_cells


def solutions(table: list[list[int]], hidden: frozenset) -> list[dict]:
    """Every filling of the hidden cells with counts (0 or more) that gives the published row and column totals."""
    cells = sorted(hidden)
    row_totals = [sum(row) for row in table]
    column_totals = [sum(column) for column in zip(*table, strict=True)]
    ranges = [range(min(row_totals[r], column_totals[c]) + 1) for r, c in cells]
    found = []
    for values in product(*ranges):
        filled = [row[:] for row in table]
        for (r, c), v in zip(cells, values, strict=True):
            filled[r][c] = v
        if [sum(row) for row in filled] == row_totals and \
                [sum(col) for col in zip(*filled, strict=True)] == column_totals:
            found.append(dict(zip(cells, values, strict=True)))
    return found


def determined_by_totals(shape: tuple[int, int], hidden: frozenset) -> set:
    """The hidden cells whose value linear algebra pins from the totals: rank check, independent of the graph."""
    rows, columns = shape
    cells = sorted(hidden)
    equations = [[Fraction(int(r == i)) for r, _ in cells] for i in range(rows)]
    equations += [[Fraction(int(c == j)) for _, c in cells] for j in range(columns)]

    def rank(matrix: list[list[Fraction]]) -> int:
        m = [row[:] for row in matrix]
        count = 0
        for col in range(len(cells)):
            pivot = next((i for i in range(count, len(m)) if m[i][col] != 0), None)
            if pivot is None:
                continue
            m[count], m[pivot] = m[pivot], m[count]
            for i in range(len(m)):
                if i != count and m[i][col] != 0:
                    factor = m[i][col] / m[count][col]
                    m[i] = [a - factor * b for a, b in zip(m[i], m[count], strict=True)]
            count += 1
        return count

    base = rank(equations)
    return {cell for k, cell in enumerate(cells)
            if rank([*equations, [Fraction(int(i == k)) for i in range(len(cells))]]) == base}


TEAMS = [  # Outstanding, Good, Requires improvement, Inadequate: one small cell, Team C's 2 Inadequate
    [6, 9, 7, 5],
    [5, 8, 6, 7],
    [7, 5, 9, 2],
]


def test_one_small_cell_hides_a_second_in_its_row_and_in_its_column() -> None:
    hidden = suppressed_cells(TEAMS, threshold=5)

    assert primary_cells(TEAMS, threshold=5) == {(2, 3)}
    assert (2, 3) in hidden
    assert any(r == 2 and c != 3 for r, c in hidden)
    assert any(c == 3 and r != 2 for r, c in hidden)


def test_one_small_cell_no_hidden_value_recoverable_from_the_totals() -> None:
    hidden = suppressed_cells(TEAMS, threshold=5)
    fillings = solutions(TEAMS, hidden)

    assert {cell: TEAMS[cell[0]][cell[1]] for cell in hidden} in fillings
    assert all(len({filling[cell] for filling in fillings}) >= 2 for cell in hidden)


def test_complements_are_the_smallest_cells_that_close_the_loop() -> None:
    assert suppressed_cells(TEAMS, threshold=5) == {(2, 3), (2, 1), (0, 3), (0, 1)}


def test_nothing_small_nothing_hidden() -> None:
    assert suppressed_cells([[5, 6], [7, 8]], threshold=5) == frozenset()


def test_zeros_are_shown() -> None:
    assert primary_cells([[0, 9], [6, 0]], threshold=5) == set()


def test_a_zero_complements_only_when_no_other_cell_can() -> None:
    table = [[0, 0, 2], [6, 7, 8]]

    hidden = suppressed_cells(table, threshold=5)
    fillings = solutions(table, hidden)

    assert all(len({filling[cell] for filling in fillings}) >= 2 for cell in hidden)


def test_one_row_table_cannot_be_protected_and_hides_only_the_small_cells() -> None:
    assert suppressed_cells([[2, 7, 9]], threshold=5) == {(0, 0)}


def test_recoverable_cells_names_a_lone_hidden_cell_and_clears_a_rectangle() -> None:
    assert recoverable_cells((2, 2), {(0, 0)}) == {(0, 0)}
    assert recoverable_cells((2, 2), {(0, 0), (0, 1), (1, 0), (1, 1)}) == set()
    # Two rectangles joined by one cell: that cell is the difference of two sums of totals.
    two = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (1, 2)}
    assert recoverable_cells((4, 4), two) == {(1, 2)}


tables = st.integers(2, 4).flatmap(lambda rows: st.integers(2, 4).flatmap(
    lambda columns: st.lists(st.lists(st.integers(0, 12), min_size=columns, max_size=columns),
                             min_size=rows, max_size=rows)))


@settings(max_examples=300, deadline=None)
@given(tables, st.integers(2, 6))
def test_no_hidden_cell_is_determined_by_the_totals(table: list[list[int]], threshold: int) -> None:
    hidden = suppressed_cells(table, threshold=threshold)

    assert primary_cells(table, threshold=threshold) <= hidden
    assert determined_by_totals((len(table), len(table[0])), hidden) == set()
