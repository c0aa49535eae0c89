"""The central tracker: every audit, action, meeting, response and message with its status."""
