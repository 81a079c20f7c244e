"""Benchmarks that print numbers (``make bench``): cold init, warm latency, throughput,
database connections, artifact sizes and program time. Nothing here asserts a timing."""
