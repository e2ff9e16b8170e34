# Compatibility name: existing STeaMi scripts do `from steami_config import SteamiConfig`.
from flashbridge.config import SteamiConfig  # noqa: F401
