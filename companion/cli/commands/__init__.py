"""One module per ``companion`` command; each defines ``register(app)``."""
