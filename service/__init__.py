"""The HTTP service. It imports the core package only, never training/."""
