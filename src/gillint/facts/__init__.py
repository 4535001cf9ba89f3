"""Facts the rules share, computed on the project model: dispatch sites, GIL effects, locks, threads, pickling."""
