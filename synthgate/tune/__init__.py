"""`synthgate tune`: threshold sweeps and suggestions from stored scores, with no model."""
