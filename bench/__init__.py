"""The benchmark behind `make bench`: latency, throughput, memory, start-up, training, NLU accuracy.

Not a test: it measures and reports (bench/results.json, bench/*.png); see bench/README.md.
"""
