"""Protocol probes. Each module knows one protocol and nothing else."""
