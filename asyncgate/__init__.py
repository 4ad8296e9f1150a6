"""asyncgate."""
