# Compatibility name: existing STeaMi scripts do `from daplink_bridge import DaplinkBridge`.
from flashbridge import DaplinkBridge, FlashBridgeError, FlashBridgeTimeout  # noqa: F401
from flashbridge.const import *  # noqa: F401,F403
