# SteamiConfig: board settings as compact JSON in the target's 1 KB config zone
# (same keys and methods as the STeaMi driver).
#
# JSON layout, e.g.
#   {"rev":3,"name":"STeaMi-01","tc":{"hts":{"g":1.0,"o":-0.5}},
#    "cm":{"hx":12.3,"hy":-5.1,"hz":0.8,"sx":1.01,"sy":0.98,"sz":1.0},
#    "cal_accel":{"ox":0.01,"oy":-0.02,"oz":0.0},"boot":42}
# rev: board revision; name: board name; tc.<sensor>.g/o: temperature gain/offset;
# cm: magnetometer hard-iron offsets (hx/hy/hz) and soft-iron scales (sx/sy/sz);
# cal_accel: accelerometer offsets in g; boot: boot counter.
# The JSON functions, and which module gave them (JSON_MODULE, for the curious).
# minijson is taken with `from .minijson import`, not `from . import minijson`: the
# package has a module __getattr__ (for SteamiConfig), and MicroPython's
# `from package import submodule` asks it first and stops at its AttributeError.
try:
    from json import dumps, loads

    JSON_MODULE = "json"
except ImportError:
    try:
        from ujson import dumps, loads

        JSON_MODULE = "ujson"
    except ImportError:  # json is an EXTRA-level module (MICROPY_PY_JSON)
        from .minijson import dumps, loads

        JSON_MODULE = "minijson"
try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x

# Protocol numbers from const.py, private so that MicroPython folds them into the
# code and keeps no global for them (tests/test_constants.py checks the values).
_CONFIG_SIZE = const(1024)


# Sensor driver class names -> short keys under "tc".
_SENSOR_KEYS = {
    "hts221": "hts",
    "lis2mdl": "mag",
    "ism330dl": "ism",
    "wsen_hids": "hid",
    "wsen_pads": "pad",
}


def _dumps(obj):
    try:
        return dumps(obj, separators=(",", ":"))
    except TypeError:  # MicroPython before json.dumps took separators
        return dumps(obj)


def _sensor_key(sensor):
    key = _SENSOR_KEYS.get(sensor)
    if key is None:
        raise ValueError("unknown sensor: {}".format(sensor))
    return key


class SteamiConfig(object):
    """Persistent board configuration.

    Args:
        bridge: a DaplinkBridge (a DaplinkFlash works too, as in older STeaMi scripts).

    Nothing touches the bus until load() or save().
    """

    def __init__(self, bridge):
        self._bridge = bridge
        self._data = {}

    # --------------------------------------------------------------------------
    # Persistence
    # --------------------------------------------------------------------------

    def load(self):
        """Read the config zone. An erased zone, or one that does not hold a JSON
        object, gives an empty configuration."""
        raw = self._bridge.read_config()
        data = {}
        if raw:
            try:
                data = loads(raw.decode())
            except (ValueError, TypeError):  # UnicodeError is a ValueError
                data = {}
            if not isinstance(data, dict):
                data = {}
        self._data = data

    def save(self):
        """Write the configuration as compact JSON, replacing the whole zone.

        Atomic on a target with the config transaction (bridge.replace_config: BEGIN,
        CLEAR, WRITE..., COMMIT): a power cut or an error leaves the old configuration
        or the new one, never a mix. On a target without it, clear then write, as v1.
        ValueError, with the zone untouched, if the JSON is larger than 1 KB."""
        payload = _dumps(self._data).encode()
        if len(payload) > _CONFIG_SIZE:
            raise ValueError(
                "config is {} bytes, the zone holds {}".format(len(payload), _CONFIG_SIZE)
            )
        replace = getattr(self._bridge, "replace_config", None)
        if replace is not None:
            replace(payload)
        else:
            self._bridge.clear_config()
            self._bridge.write_config(payload)

    # --------------------------------------------------------------------------
    # Board info
    # --------------------------------------------------------------------------

    @property
    def board_revision(self):
        """Board hardware revision (int), or None."""
        return self._data.get("rev")

    @board_revision.setter
    def board_revision(self, value):
        if value is None:
            self._data.pop("rev", None)
        else:
            self._data["rev"] = int(value)

    @property
    def board_name(self):
        """Board name (str), or None."""
        return self._data.get("name")

    @board_name.setter
    def board_name(self, value):
        if value is None:
            self._data.pop("name", None)
        else:
            self._data["name"] = str(value)

    # --------------------------------------------------------------------------
    # Temperature calibration
    # --------------------------------------------------------------------------

    def set_temperature_calibration(self, sensor, gain=1.0, offset=0.0):
        """Store gain and offset (degrees C) for a sensor: "hts221", "lis2mdl",
        "ism330dl", "wsen_hids" or "wsen_pads"."""
        key = _sensor_key(sensor)
        tc = self._data.get("tc")
        if not isinstance(tc, dict):
            tc = {}
            self._data["tc"] = tc
        tc[key] = {"g": gain, "o": offset}

    def get_temperature_calibration(self, sensor):
        """{"gain": g, "offset": o} for a sensor, or None."""
        key = _sensor_key(sensor)
        tc = self._data.get("tc")
        if not isinstance(tc, dict):
            return None
        entry = tc.get(key)
        if entry is None:
            return None
        return {"gain": entry.get("g", 1.0), "offset": entry.get("o", 0.0)}

    def apply_temperature_calibration(self, sensor_instance):
        """Set _temp_gain/_temp_offset on a sensor driver instance, looked up by its
        class name (HTS221 -> "hts221"). Does nothing without stored calibration."""
        name = type(sensor_instance).__name__.lower()
        if name not in _SENSOR_KEYS:
            return
        cal = self.get_temperature_calibration(name)
        if cal is None:
            return
        sensor_instance._temp_gain = cal["gain"]
        sensor_instance._temp_offset = cal["offset"]

    # --------------------------------------------------------------------------
    # Magnetometer calibration (LIS2MDL)
    # --------------------------------------------------------------------------

    def set_magnetometer_calibration(
        self,
        hard_iron_x=0.0,
        hard_iron_y=0.0,
        hard_iron_z=0.0,
        soft_iron_x=1.0,
        soft_iron_y=1.0,
        soft_iron_z=1.0,
    ):
        """Store hard-iron offsets and soft-iron scale factors."""
        self._data["cm"] = {
            "hx": hard_iron_x,
            "hy": hard_iron_y,
            "hz": hard_iron_z,
            "sx": soft_iron_x,
            "sy": soft_iron_y,
            "sz": soft_iron_z,
        }

    def get_magnetometer_calibration(self):
        """{"hard_iron_x": .., "hard_iron_y", "hard_iron_z", "soft_iron_x",
        "soft_iron_y", "soft_iron_z"}, or None."""
        cm = self._data.get("cm")
        if not isinstance(cm, dict):
            return None
        return {
            "hard_iron_x": cm.get("hx", 0.0),
            "hard_iron_y": cm.get("hy", 0.0),
            "hard_iron_z": cm.get("hz", 0.0),
            "soft_iron_x": cm.get("sx", 1.0),
            "soft_iron_y": cm.get("sy", 1.0),
            "soft_iron_z": cm.get("sz", 1.0),
        }

    def apply_magnetometer_calibration(self, lis2mdl_instance):
        """Set x_off/y_off/z_off and x_scale/y_scale/z_scale on a LIS2MDL instance."""
        if type(lis2mdl_instance).__name__.lower() != "lis2mdl":
            return
        cal = self.get_magnetometer_calibration()
        if cal is None:
            return
        lis2mdl_instance.x_off = cal["hard_iron_x"]
        lis2mdl_instance.y_off = cal["hard_iron_y"]
        lis2mdl_instance.z_off = cal["hard_iron_z"]
        lis2mdl_instance.x_scale = cal["soft_iron_x"]
        lis2mdl_instance.y_scale = cal["soft_iron_y"]
        lis2mdl_instance.z_scale = cal["soft_iron_z"]

    # --------------------------------------------------------------------------
    # Accelerometer calibration (ISM330DL)
    # --------------------------------------------------------------------------

    def set_accelerometer_calibration(self, ox=0.0, oy=0.0, oz=0.0):
        """Store accelerometer bias offsets, in g."""
        self._data["cal_accel"] = {"ox": float(ox), "oy": float(oy), "oz": float(oz)}

    def get_accelerometer_calibration(self):
        """{"ox": .., "oy": .., "oz": ..}, or None."""
        cal = self._data.get("cal_accel")
        if not isinstance(cal, dict):
            return None
        return {
            "ox": cal.get("ox", 0.0),
            "oy": cal.get("oy", 0.0),
            "oz": cal.get("oz", 0.0),
        }

    def apply_accelerometer_calibration(self, ism330dl_instance):
        """Set _accel_offset_x/_y/_z on an ISM330DL instance."""
        if type(ism330dl_instance).__name__.lower() != "ism330dl":
            return
        cal = self.get_accelerometer_calibration()
        if cal is None:
            return
        ism330dl_instance._accel_offset_x = cal["ox"]
        ism330dl_instance._accel_offset_y = cal["oy"]
        ism330dl_instance._accel_offset_z = cal["oz"]

    # --------------------------------------------------------------------------
    # Boot counter
    # --------------------------------------------------------------------------

    def set_boot_count(self, count):
        """Set the boot counter (saved by the next save())."""
        count = int(count)
        if count < 0:
            raise ValueError("boot count must be >= 0")
        self._data["boot"] = count

    def get_boot_count(self):
        """The boot counter; 0 when never set."""
        value = self._data.get("boot")
        return value if isinstance(value, int) else 0

    def increment_boot_count(self):
        """Add one to the boot counter and return it (saved by the next save())."""
        count = self.get_boot_count() + 1
        self._data["boot"] = count
        return count
