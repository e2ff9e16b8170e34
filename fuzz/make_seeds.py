#!/usr/bin/python3
"""Write seed inputs for fuzz_i2c (format in fuzz_i2c.c) into the directory given.

Random bytes rarely form a valid 32-byte frame; these seeds start the fuzzer from
realistic sessions (appends, reads, config, rename, queue overflow, power cycles) that it
then mutates."""
import os
import sys

ADDR = 0x01  # odd selector: the target's address


def xfer(w=b"", rlen=0):
    return bytes([0, ADDR, len(w), rlen]) + bytes(w)


def wait(units):  # units of 50 us
    return bytes([5, units])


def power_cycle():
    return bytes([7, 0xC7])


def write_data(data):
    return xfer(bytes([0x11, len(data)]) + data + bytes(30 - len(data)))


def write_config(off, data):
    return xfer(bytes([0x30, off >> 8, off & 0xFF, len(data)]) + data + bytes(28 - len(data)))


def append_crc(seq, data, corrupt=False):
    """Op 7, streaming APPEND_CRC built by the harness (valid CRC unless corrupt)."""
    assert len(data) == 256 or 1 <= len(data) <= 64
    n = 0x80 if len(data) == 256 else len(data) - 1
    return bytes([7, 0x02 | corrupt, seq, n]) + data


def stream_read(off, n, read_chunk=True):
    """Op 7, STREAM_READ of n bytes at off (u24), then one chunk read."""
    x = 0x80 | (0x02 if read_chunk else 0)
    return bytes([7, x, off >> 16, (off >> 8) & 0xFF, off & 0xFF, n >> 8, n & 0xFF])


SEEDS = {
    "append_read": write_data(b"t,temp\n1,21.5\n") + wait(200)
    + xfer(bytes([0x20, 0, 0])) + wait(40) + xfer(b"", 255),
    "config": write_config(10, b"hello") + wait(255) + wait(255)
    + xfer(bytes([0x31, 0, 0])) + wait(40) + xfer(b"", 64),
    "rename": xfer(b"\x03LOG     CSV") + wait(100) + xfer(b"\x04", 11),
    "clear_append": xfer(b"\x10") + wait(100) + write_data(b"\xff" * 30) + wait(100)
    + xfer(b"\x82", 4),
    "overflow": b"".join(write_data(bytes([i] * 30)) for i in range(6)) + xfer(b"\x81", 1),
    "power": write_data(b"abc") + power_cycle() + xfer(b"\x82", 4) + write_data(b"def"),
    "registers": xfer(b"\x01", 1) + xfer(b"\x80", 1) + xfer(b"\x81") + xfer(b"", 1),
    "stream": append_crc(1, bytes(range(256))) + append_crc(2, b"\xff" * 60)
    + append_crc(2, b"\xff" * 60) + append_crc(3, b"bad", corrupt=True) + wait(100)
    + stream_read(0, 316) + stream_read(200, 10, read_chunk=False) + xfer(b"", 50)
    + xfer(b"\x84", 7) + xfer(b"\x83", 10),
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
