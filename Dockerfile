# centralino router. Build: docker build -t centralino .
# Run:   docker run -p 8080:8080 -v centralino-data:/data -e CENTRALINO_ADMIN_TOKEN=... centralino
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY router ./router
COPY channels ./channels
COPY skills ./skills
COPY api ./api
RUN pip install .

COPY config.yaml ./config.yaml
RUN useradd --system --uid 10001 centralino && mkdir -p /data && chown centralino /data
USER centralino

ENV CENTRALINO_DATABASE_URL=sqlite+aiosqlite:////data/centralino.db \
    CENTRALINO_CONFIG_PATH=/app/config.yaml \
    CENTRALINO_HOST=0.0.0.0 \
    CENTRALINO_PORT=8080
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"
CMD ["centralino", "serve"]
