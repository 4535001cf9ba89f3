"""The engine: choose files, parse and check them (in parallel, through the cache), filter the findings."""
