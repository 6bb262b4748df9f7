"""The declarative base of every model, with a naming convention for constraints and indexes."""

import sqlalchemy as sa
from sqlalchemy import orm

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(orm.DeclarativeBase):
    """Base class of the models; `Base.metadata` holds every table."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
