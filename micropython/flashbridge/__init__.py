# flashbridge MicroPython driver: drop-in for the STeaMi daplink_bridge / daplink_flash /
# steami_config drivers, talking to a flashbridge (or STeaMi v1) I2C storage target.
# See micropython/README.md.
from .bridge import DaplinkBridge, PROTO_V1, PROTO_V1_1, PROTO_V2
from .errors import FlashBridgeError, FlashBridgeTimeout, error_names
from .flash import DaplinkFlash

__version__ = "1.3.0"


def __getattr__(name):
    # SteamiConfig and FlashLog load when first asked for (config.py alone takes ~3.5 KB
    # of heap on a 32-bit board): module __getattr__ is PEP 562 on CPython and
    # MICROPY_MODULE_GETATTR on MicroPython (CORE feature level and up; on a MINIMUM
    # build import them from flashbridge.config and flashbridge.log).
    if name == "SteamiConfig":
        from .config import SteamiConfig

        return SteamiConfig
    if name == "FlashLog":  # made by DaplinkFlash.log(); here for isinstance()
        from .log import FlashLog

        return FlashLog
    raise AttributeError(name)
