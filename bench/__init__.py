"""`make bench`: the throughput, isolation, API, memory and scale benchmark (issue 6).

`python -m bench.run --help` lists the options; docs/benchmarks.md holds the last
full run's figures and explains each scenario.
"""
