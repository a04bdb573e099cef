"""Harnesses shared by the tests (``tests/``) and the benchmarks (``bench/``).

Real components on loopback, started and stopped cleanly: free ports, condition waits, a
Mosquitto broker, the local stack in a subprocess, test PKIs. ``bench/`` imports from here,
never from ``tests/``.
"""
