"""Alembic environment: the database URL comes from the app's ini (or POLYBANKING_SQLALCHEMY_URL),
or from a connection handed over in ``config.attributes`` (tests, ``polybanking initdb``)."""
from alembic import context
from pyramid.paster import get_appsettings
from sqlalchemy import engine_from_config, pool

from polybanking.models.meta import Base, alembic_include_object
from polybanking.settings import with_environment

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        include_object=alembic_include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = with_environment(get_appsettings(config.config_file_name))
    engine = engine_from_config(settings, "sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def run_migrations_offline() -> None:
    settings = with_environment(get_appsettings(config.config_file_name))
    context.configure(url=settings["sqlalchemy.url"], target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
