"""Privacy: names kept out of free text, and personal fields erased past retention."""
