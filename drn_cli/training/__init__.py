"""Training: paired dual-regression training (`trainer`), its data (`data`) and unpaired
adaptation (`adapt`). Nothing outside this package and the CLI imports it."""
