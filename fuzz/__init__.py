"""The fuzz battery: hostile inputs for `drn upscale` and `drn serve` (corpus.py) and the runner
that records what each did (run.py). `python -m fuzz --help`; docs/reliability.md has its last result."""
