# Keep Going in a container: a wheel built from this checkout, installed into python:3.12-slim, run as a
# user without privileges. The default command is the console chat, which needs a terminal:
#   docker build -t keepgoing . && docker run -it --rm keepgoing
# The platforms: `docker run --env-file .env keepgoing keepgoing run` (or compose.yaml for the lot).

# BASE_IMAGE: any Debian-based image with python3 >= 3.11, pip and venv; override it where Docker Hub is
# unreachable, e.g. --build-arg BASE_IMAGE=local/debian-python:bookworm (an image imported from mmdebstrap).
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY messages ./messages
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${BASE_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    OPS_HOST=0.0.0.0
COPY --from=build /wheels /wheels
# The postgres extra brings asyncpg, for DATABASE_URL=postgresql://… (compose.yaml uses it).
RUN wheel="$(ls /wheels/keepgoing-*.whl)" \
    && pip install "${wheel}[postgres]" \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin keepgoing \
    && mkdir /data && chown keepgoing:keepgoing /data
USER keepgoing
# The default SQLite file (DATABASE_URL=sqlite:///keepgoing.db) lands in the working directory: a volume.
WORKDIR /data
VOLUME ["/data"]
# 8080: Telegram's webhook (TELEGRAM_LISTEN_PORT); 9100: the operations port when OPS_PORT=9100 is set.
EXPOSE 8080 9100
CMD ["keepgoing", "chat"]
