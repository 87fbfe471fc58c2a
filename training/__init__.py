"""Training pipelines: fit a backend on the corpus, evaluate on held-out rows, log and register in MLflow."""
