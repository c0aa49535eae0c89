"""The learning culture: Make a Difference, the learning session and questionnaires."""
