# Compatibility name: existing STeaMi scripts do `from daplink_flash import DaplinkFlash`.
from flashbridge import DaplinkFlash, FlashBridgeError, FlashBridgeTimeout  # noqa: F401
from flashbridge.const import *  # noqa: F401,F403
