# Countersign: slim, non-root, one process; everything it writes lives under /app/data.
#   docker build -t countersign .
#   docker compose up            (App + PostgreSQL + migration step: see compose.yaml)

# --- build: dependencies first (cached until pyproject.toml changes), then the wheel ---------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml ./
# Install only the dependencies named in pyproject.toml, so a source change keeps this layer.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > requirements.txt \
 && pip install -r requirements.txt
COPY setup.py README.md LICENSE app.yml ./
COPY policies ./policies
COPY github_app ./github_app
RUN pip install --no-deps .

# --- runtime: the virtual environment only, no sources, no build tools ----------------------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PORT=3000 \
    DATABASE_URL=sqlite:////app/data/countersign.db \
    COUNTERSIGN_DATA_DIR=/app/data \
    COUNTERSIGN_SIGNING_KEY_PATH=/app/data/ledger-signing.key
RUN useradd --create-home --uid 10001 --user-group countersign \
 && mkdir -p /app/data && chown countersign:countersign /app/data && chmod 0700 /app/data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER countersign
VOLUME ["/app/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','3000'), timeout=2).status == 200 else 1)"

CMD ["countersign", "serve"]
