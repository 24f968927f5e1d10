# Countersign: slim, non-root, one process.  Build: docker build -t countersign .
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 countersign
WORKDIR /app

COPY pyproject.toml README.md app.yml ./
COPY github_app ./github_app
COPY policies ./policies
RUN pip install . && mkdir -p /app/data && chown countersign:countersign /app/data

USER countersign
ENV DATABASE_URL=sqlite:////app/data/countersign.db \
    COUNTERSIGN_SIGNING_KEY_PATH=/app/data/ledger-signing.key \
    COUNTERSIGN_HOME=/app
VOLUME ["/app/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2).status == 200 else 1)"

CMD ["countersign", "serve"]
