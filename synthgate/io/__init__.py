"""Reading inputs, writing files atomically, and the run directory a job leaves."""
