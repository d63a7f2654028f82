"""SQL migration scripts of the hub database, applied in order by :func:`hub.db.migrate`."""
