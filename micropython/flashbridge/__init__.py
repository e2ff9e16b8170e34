# flashbridge MicroPython driver: drop-in for the STeaMi daplink_bridge / daplink_flash /
# steami_config drivers, talking to a flashbridge (or STeaMi v1) I2C storage target.
# See micropython/README.md.
from .bridge import DaplinkBridge, PROTO_V1, PROTO_V1_1, PROTO_V2
from .config import SteamiConfig
from .errors import FlashBridgeError, FlashBridgeTimeout, error_names
from .flash import DaplinkFlash

__version__ = "1.2.0"
