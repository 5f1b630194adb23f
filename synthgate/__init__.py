"""synthgate: score synthetic text candidates, gate them with every reason, keep the good ones."""

from synthgate.config import default_config, load_config
from synthgate.errors import ConfigError, SynthgateError
from synthgate.gate import Gate, Rule, Unique
from synthgate.io.inputs import Columns
from synthgate.io.rundir import Run, load_run
from synthgate.job import run_job, write_run
from synthgate.pipeline import score
from synthgate.regate import regate

__version__ = "0.1.0"

__all__ = [
    "Columns",
    "ConfigError",
    "Gate",
    "Rule",
    "Run",
    "SynthgateError",
    "Unique",
    "__version__",
    "default_config",
    "load_config",
    "load_run",
    "regate",
    "run_job",
    "score",
    "write_run",
]
