"""The T5 of the `stsb` and `cola` scorers: tasks, prefix-tree answer scoring, loading."""

from synthgate.t5.model import DEFAULT_MODEL, T5, Answers, t5_from_config
from synthgate.t5.tasks import COLA, COLA_PROMPT, STSB, STSB_PROMPT, Task, cola_prompt, stsb_prompt

__all__ = [
    "COLA",
    "COLA_PROMPT",
    "DEFAULT_MODEL",
    "STSB",
    "STSB_PROMPT",
    "T5",
    "Answers",
    "Task",
    "cola_prompt",
    "stsb_prompt",
    "t5_from_config",
]
