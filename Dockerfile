FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY newsletter ./newsletter
COPY alembic ./alembic
COPY templates ./templates
COPY static ./static
RUN pip install --no-cache-dir -e '.[postgres]' \
    && useradd --system --home /app newsletter
USER newsletter
EXPOSE 8000
CMD ["newsletter", "run", "--host", "0.0.0.0", "--port", "8000"]
