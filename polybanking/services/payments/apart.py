"""Reading before calling a platform, without holding the request's transaction open meanwhile.

A shopper waits while the platform answers (creating a Checkout payment at ``go``, reading its
state on return), and no database lock may be held across that call (DESIGN.md). On SQLite every
transaction takes the write lock at BEGIN (models: serialised writers), so even a plain read in
the request's own transaction would hold it: the read runs on a connection of its own, closed at
once, and the request's transaction begins only after the platform has answered.
"""

from sqlalchemy import Engine, Executable, Row
from sqlalchemy.orm import Session


def read_apart(dbsession: Session, statement: Executable) -> Row | None:
    """The first row of ``statement``, read outside the session's transaction when it can be."""
    bind = dbsession.get_bind()
    if not isinstance(bind, Engine) or dbsession.in_transaction():
        return dbsession.execute(statement).first()  # already in a transaction: nothing to spare
    with bind.connect() as connection:
        return connection.execute(statement).first()
