"""Periodic jobs of `zhigu worker` (notification scans, e-mail digests), run by one machine at a time."""
