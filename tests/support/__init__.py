"""Real helper processes and servers for integration tests."""
