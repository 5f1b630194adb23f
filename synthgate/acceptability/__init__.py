"""Grammatical acceptability by a sequence classifier: the `cola` scorer's second backend, and
the trainer that fine-tunes one offline (`synthgate train acceptability`)."""

from synthgate.acceptability.classifier import Classifier

__all__ = ["Classifier"]
