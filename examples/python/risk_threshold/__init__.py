"""The risk-threshold plugin (`risk_threshold.py`) and its unit tests."""
