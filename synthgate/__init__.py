"""synthgate: score synthetic text candidates, gate them with every reason, keep the good ones."""

from synthgate.config import default_config, load_config
from synthgate.errors import ConfigError, SynthgateError
from synthgate.gate import Gate, Rule, Unique
from synthgate.inputs import Columns
from synthgate.job import run_job
from synthgate.pipeline import score

__version__ = "0.1.0"

__all__ = [
    "Columns",
    "ConfigError",
    "Gate",
    "Rule",
    "SynthgateError",
    "Unique",
    "__version__",
    "default_config",
    "load_config",
    "run_job",
    "score",
]
