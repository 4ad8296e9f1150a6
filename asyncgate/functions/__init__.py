"""Lambda handler code deployed by the sample app; each sub-folder is one function's asset."""
