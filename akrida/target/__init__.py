"""The target's side of a run: samples of the system under test, taken beside the load.

- `samples`: the one format every source writes (target/samples.csv) and the summary reads;
- `embedded`: the embedded target's processes and PostgreSQL, read directly;
- `recorder`: runs the sources on a steady interval in threads of their own, off the load's path.
"""
