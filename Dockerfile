# Madoguchi service image: Python 3.11 slim, CPU-only torch, the default model trained at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MADOGUCHI_HOST=0.0.0.0

WORKDIR /app

# CPU-only torch first (the CPU wheel index; where a local CPU wheel is configured for pip, that one is used).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install "torch==2.13.0" --extra-index-url "${TORCH_INDEX_URL}"

COPY pyproject.toml README.md ./
COPY madoguchi ./madoguchi
COPY service ./service
COPY training ./training
COPY evaluation ./evaluation
RUN pip install -e '.[neural]'

COPY datasets ./datasets
COPY models ./models

# The embedded store (/app/mlflow.db) gets the default model now, so the container starts serving at once.
# Point MLFLOW_TRACKING_URI elsewhere at run time to serve that store's @champion instead
# (a store without one gets the default model trained into it on first start).
RUN madoguchi train --quiet

EXPOSE 8000
# PORT may be set by the platform; 8000 otherwise.
CMD ["sh", "-c", "exec madoguchi serve --host 0.0.0.0 --port \"${PORT:-8000}\""]
