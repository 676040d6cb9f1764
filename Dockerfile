# divert: the worker, the replay job and the migrations (see docker-compose.yml).
#   docker build -t divert:0.1.0 .
#   docker run --rm -e DIVERT_KAFKA_BOOTSTRAP=... -e DIVERT_DATABASE_URL=... divert:0.1.0 worker
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DIVERT_REFERENCE=/app/reference \
    DIVERT_METRICS_PORT=9464

RUN useradd --create-home --uid 10001 divert \
    && mkdir -p /home/divert/.local/share/divert \
    && chown -R divert:divert /home/divert/.local

WORKDIR /app
# the package first (its dependencies change less often than the reference tables)
COPY pyproject.toml README.md ./
COPY divert/ divert/
COPY schemas/ schemas/
COPY streams/ streams/
COPY consumers/ consumers/
RUN pip install . && rm -rf build *.egg-info
# crosswalks, policies and city mappings, read at run time (DIVERT_REFERENCE)
COPY reference/ reference/

USER divert
EXPOSE 9464
ENTRYPOINT ["divert"]
CMD ["worker"]
