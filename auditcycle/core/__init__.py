"""The ground floor every concept stands on: settings, the clock, the calendar rules, the database and errors."""
