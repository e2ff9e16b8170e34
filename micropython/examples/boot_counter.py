"""Boot counter: count start-ups in the config zone.

Written with the STeaMi driver's module names, to show that existing scripts run
unchanged: daplink_bridge and steami_config are thin aliases of the flashbridge package
(`from flashbridge import DaplinkBridge, SteamiConfig` is the same thing).
"""
from daplink_bridge import DaplinkBridge
from machine import I2C
from steami_config import SteamiConfig

i2c = I2C(1)
bridge = DaplinkBridge(i2c)

config = SteamiConfig(bridge)
config.load()
config.increment_boot_count()
config.save()

print("Boot count:", config.get_boot_count())
