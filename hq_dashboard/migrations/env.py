import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context

from hq_dashboard.db import MigrationFailed

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# Not disable_existing_loggers: HQ's own loggers (app.logger) were silenced when HQ brought its schema up to date.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _before_sqlite_migrations(connection)
        try:
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # Two HQ commands starting together on a database that needs upgrading: the second
                    # waits here, then finds it at head, instead of failing on a column the first added.
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(862213)")
                context.run_migrations()
            if sqlite:
                _check_foreign_keys(connection)
        finally:
            if sqlite:
                _foreign_keys_on(connection)


def _before_sqlite_migrations(connection):
    """SQLite's way for table rebuilds (https://sqlite.org/lang_altertable.html): foreign keys off while
    batch mode copies a table, or dropping the old `shelters` fails for the kiosks that point at it.
    HQ turns them on for every connection (db.py); the pragma is a no-op inside a transaction, so it is
    set, and committed, before alembic begins one.  A copy left behind by a migration that failed half
    way (`_alembic_tmp_<table>`, from before this fix) is dropped: batch mode makes it afresh, and its
    presence makes the rebuild fail again."""
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.commit()
    if _leftovers(connection):
        # Another HQ command migrating this file just now holds its write lock: wait for it, so that
        # only a leftover is dropped, never a copy being made.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        for name in _leftovers(connection):
            logger.warning("dropping %s, left behind by a migration that failed half way", name)
            connection.exec_driver_sql(f'DROP TABLE "{name}"')
        connection.commit()
    off = connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    connection.commit()   # alembic then begins and commits each migration's own transaction
    if not off:
        raise MigrationFailed("マイグレーションのために SQLite の外部キー制約を止められませんでした / could not turn "
                              "SQLite's foreign keys off for the migrations")


def _leftovers(connection) -> list[str]:
    # GLOB, not LIKE: in LIKE "_" is any character.
    return [name for (name,) in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB '_alembic_tmp_*'")]


def _check_foreign_keys(connection):
    """Every row still points at a row that is there, as with foreign keys on."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    connection.rollback()
    if broken:
        rows = ", ".join(f"{table} row {rowid} (its {parent} row is missing)" for table, rowid, parent, _ in broken[:5])
        rows_ja = "、".join(f"{table} 表の行 {rowid}（指す先の {parent} 表の行がありません）"
                           for table, rowid, parent, _ in broken[:5])
        more = " …" if len(broken) > 5 else ""
        raise MigrationFailed(
            f"本部のデータベースを更新しましたが、{len(broken)} 行が存在しない行を指しています: {rows_ja}{more}。"
            "本部はこのデータベースでは起動しません。データベースをバックアップから戻し、助けを求めてください / "
            f"HQ's database was upgraded, but {len(broken)} row(s) point at rows that are not there: {rows}"
            f"{more}. HQ does not start on it: restore the database from its backup "
            "and ask for help")


def _foreign_keys_on(connection):
    # This connection goes back to HQ's pool: with foreign keys on, as every other one.
    if connection.in_transaction():
        connection.rollback()
    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    on = connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    connection.commit()
    if not on:
        connection.invalidate()   # never handed out again with foreign keys off


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
