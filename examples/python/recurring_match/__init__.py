"""The recurring-match plugin (`recurring_match.py`) and its unit tests."""
