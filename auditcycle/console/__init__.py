"""The QA team's console: who may sign in, their sessions, and what each page of the month shows."""
