"""The monthly report: its figures, its rendering and its issue by edition."""
