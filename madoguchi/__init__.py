"""Madoguchi core: what the service, training and evaluation share.

Kept small on purpose: text normalisation, tokenising, the taxonomy, routing
tables, the model interface and settings. Nothing here imports FastAPI, torch
or the training code, so the service stays light.
"""

__version__ = "0.1.0"
