"""The hostile-input corpus: every input the cycle reads, attacked, each either refused cleanly or accepted safely."""
