"""Engines: each executes the runs that a sweep's grid leaves to do, and nothing else.

What a run is, where it lives, whether it is complete, conflicting, queued or running, is the grid's business
(`selectivity_lib.grid`); an engine receives the runs to train and returns one line per run (or job) that
failed. `inprocess` trains them in this process, `papermill` through the training notebook, `cluster` (sweep
`--engine submitit`) as a SLURM job array or as local processes.
"""

from __future__ import annotations

ENGINES = ("papermill", "inprocess", "submitit")
