"""The fuzz battery (fuzz/) as CI runs it: a few hundred hostile inputs through `drn upscale` in
batches and through a live `drn serve`, malformed HTTP, hostile names and SIGTERM during a job.
Every defect it can report is a failure here. The long mode (2000+ inputs) is run by hand:
`python -m fuzz --cases 2000 --long` (docs/reliability.md)."""

import importlib.util

import pytest

from fuzz.run import battery


@pytest.mark.skipif(importlib.util.find_spec("starlette") is None or importlib.util.find_spec("uvicorn") is None,
                    reason="the battery also fuzzes drn serve, which needs the web extra: pip install 'drn-cli[web]'")
def test_the_fuzz_battery_finds_nothing():
    report = battery(240, seed=1)
    assert len(report.heavy) < 24, report.summary()  # few left out for the minutes their header declares
    assert report.cases >= 2 * (240 - len(report.heavy)), report.summary()  # each through the CLI and the server
    assert not report.defects, "\n".join(d.line() for d in report.defects[:20]) + "\n" + report.summary()
