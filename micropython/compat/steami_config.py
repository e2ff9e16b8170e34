# Compatibility name: existing STeaMi scripts do `from steami_config import SteamiConfig`.
from flashbridge import SteamiConfig  # noqa: F401
