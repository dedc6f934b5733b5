# Production image: gunicorn web, Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The same list of system packages as make run/test and CI (profile "image").
COPY mesoclinic/system_packages.py /tmp/system_packages.py
RUN python /tmp/system_packages.py image && rm -rf /var/lib/apt/lists/* /tmp/system_packages.py

WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY package.json package-lock.json Makefile ./
COPY static ./static
RUN make static/vendor/.installed && rm -rf node_modules
COPY . .
RUN SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput \
 && useradd --create-home --uid 1000 clinic && mkdir -p /app/var/private /app/var/backups && chown -R clinic /app/var
USER clinic
EXPOSE 8000
CMD ["gunicorn", "mesoclinic.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
