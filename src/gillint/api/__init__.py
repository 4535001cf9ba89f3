"""What gillint knows about library APIs, by qualified name: the concurrency vocabulary and GIL effects."""
