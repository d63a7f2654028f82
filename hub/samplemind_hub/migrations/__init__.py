"""SQL migration scripts of the hub database, applied in order by :func:`samplemind_hub.db.migrate`."""
