"""Unit tests of the local stack package (run: make stack-tests)."""
