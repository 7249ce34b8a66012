"""Likewatch run end to end against the sandbox platform (``sandbox/``).

- :mod:`demo.live`: ``likewatch demo`` (``make demo``): the sandbox publishing, enrolment,
  a signed webhook receiver and the daemon, with alerts printed as they arrive.
- :mod:`demo.chaos`: the kill-run harness: the daemon SIGKILLed while it crawls, matches
  and delivers, then the checks that nothing was lost or sent twice
  (``tests/scheduler/test_kill_runs.py``, ``bench/kill_runs.py``).

This package sits on top of every other one (it drives the whole product), so nothing
below it imports it.
"""
