"""Alembic migrations; each revision runs the readable SQL file of the same name in this folder."""
