"""Training load, personal baselines and overuse flags from the stream of sessions."""
