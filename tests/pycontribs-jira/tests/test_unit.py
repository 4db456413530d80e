from __future__ import annotations


def test_import():
    """Test import of jira module."""
    import jira  # noqa: F401
