# Madoguchi service image: Python 3.11 slim, the default model trained at build time.
# The default model (TF-IDF + USE int8 through ONNX Runtime) needs no torch; the image leaves it out
# (install '.[neural]' on top for the transformer and sentence-transformers backends).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MADOGUCHI_HOST=0.0.0.0

WORKDIR /app

COPY pyproject.toml README.md ./
COPY madoguchi ./madoguchi
COPY service ./service
COPY training ./training
COPY evaluation ./evaluation
RUN pip install -e .

COPY datasets ./datasets
COPY models ./models

# The embedded store (/app/mlflow.db) gets the default model now, so the container starts serving at once.
# Point MLFLOW_TRACKING_URI elsewhere at run time to serve that store's @champion instead
# (a store without one gets the default model trained into it on first start).
RUN madoguchi train --quiet

EXPOSE 8000
# PORT may be set by the platform; 8000 otherwise.
CMD ["sh", "-c", "exec madoguchi serve --host 0.0.0.0 --port \"${PORT:-8000}\""]
