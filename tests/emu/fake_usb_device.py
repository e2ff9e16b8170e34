"""A fake USB mass-storage device behind the socket protocol (docs/SIM-PROTOCOL.md v2),
written from USB 2.0 ch. 9 and BOT 1.0, to test flashbridge-msc without the firmware:
its descriptor checks, NAK/STALL handling, unit attention restarts and image output.

    python3 fake_usb_device.py SOCKET [--defect NAME] [--blocks N]

A defect makes the device wrong (or awkward) in one way; flashbridge-msc must either
cope (nak, stall-data, ua, busy) or fail with a message naming the field. Prints
"listening" once the socket is ready, like flashbridge-sim. Virtual time: each
transaction adds a fixed 10 us; WAIT adds its ns.
"""
import os
import socket
import struct
import sys

OP_WAIT, OP_TIME, OP_HELLO, OP_RESET, OP_SETUP, OP_OUT, OP_IN = 0x02, 0x03, 0x06, 0x07, 0x08, 0x09, 0x0A
ACK, NAK, STALL, NOANSWER = 0, 1, 2, 3


def string_desc(s):
    b = s.encode("utf-16-le")
    return bytes([2 + len(b), 3]) + b


class Device:
    def __init__(self, defect, blocks):
        self.defect = defect
        self.blocks = blocks
        self.addr = 0
        self.pending_addr = None
        self.now = 0
        self.ctl = None  # (data to send, sent offset) or None
        self.ctl_status_in = False
        self.in_toggle = {1: 0}
        self.out_toggle = {2: 0}
        self.halted = set()
        self.bot = "cbw"  # cbw | data | csw
        self.data = b""
        self.csw = b""
        self.sense = (0, 0, 0)
        self.ua_done = False
        self.busy_left = 3 if defect == "busy" else 0
        self.nak_flip = False
        self.stall_once = defect == "stall-data"
        dev = bytearray([18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x09, 0x12, 0x01, 0x00,
                         0x00, 0x02, 1, 2, 3, 1])
        if defect == "dev-blength":
            dev[0] = 17
        if defect == "mps0":
            dev[7] = 12
        if defect == "no-serial":
            dev[16] = 0
        self.dev = bytes(dev)
        itf = bytearray([9, 4, 0, 0, 2, 0x08, 0x06, 0x50, 0])
        if defect == "class":
            itf[6] = 0x02
        ep_in = bytearray([7, 5, 0x81, 2, 64, 0, 0])
        ep_out = bytearray([7, 5, 0x02, 2, 64, 0, 0])
        if defect == "ep-size":
            ep_in[4] = 100
        if defect == "ep-type":
            ep_out[3] = 3
        body = bytes(itf) + bytes(ep_in) + bytes(ep_out)
        total = 9 + len(body)
        cfg = bytearray([9, 2, total & 0xFF, total >> 8, 1, 1, 0, 0x80, 50])
        if defect == "total":
            cfg[2] += 2
        if defect == "attributes":
            cfg[7] = 0x40
        self.cfg = bytes(cfg) + body
        serial = "0123456789AB" if defect != "serial-chars" else "0123-456789ab"
        self.strings = {0: bytes([4, 3, 0x09, 0x04]), 1: string_desc("fake"),
                        2: string_desc("fake disk"), 3: string_desc(serial)}

    # ---- the volume: a recognisable pattern per block ----
    def block(self, lba):
        return bytes(((lba * 7 + i) & 0xFF) for i in range(512))

    # ---- control ----
    def setup(self, s):
        bm, req, val, idx, length = struct.unpack("<BBHHH", s)
        self.ctl = None
        self.ctl_status_in = not (bm & 0x80) or length == 0
        data = None
        if bm == 0x80 and req == 6:
            typ, i = val >> 8, val & 0xFF
            if typ == 1:
                data = self.dev
            elif typ == 2:
                data = self.cfg
            elif typ == 3 and i in self.strings:
                data = self.strings[i]
            else:
                return False
        elif bm == 0x00 and req == 5:
            self.pending_addr = val
        elif bm == 0x00 and req == 9:
            self.in_toggle[1] = self.out_toggle[2] = 0
        elif bm == 0x02 and req == 1:
            ep = idx & 0x0F
            self.halted.discard(idx & 0xFF)
            if idx & 0x80:
                self.in_toggle[ep] = 0
            else:
                self.out_toggle[ep] = 0
        elif bm == 0xA1 and req == 0xFE:
            data = bytes([0])
        elif bm == 0x21 and req == 0xFF:
            self.bot = "cbw"
        else:
            return False
        if data is not None:
            self.ctl = [data[:length], 0, 1]  # data, offset, toggle
        return True

    def ep0_in(self, mx):
        if self.ctl is not None:  # data stage: 64-byte packets, a ZLP after a full last one
            d, off, tog = self.ctl
            chunk = d[off:off + 64]
            self.ctl = [d, off + len(chunk), tog ^ 1]
            return ACK, tog, chunk
        if self.ctl_status_in:
            self.ctl_status_in = False
            if self.pending_addr is not None:
                self.addr, self.pending_addr = self.pending_addr, None
            return ACK, 1, b""
        return STALL, 0, b""

    # ---- bulk-only ----
    def cbw(self, d):
        if len(d) != 31 or d[:4] != b"USBC":
            self.halted.update({0x81, 0x02})
            return
        tag, dlen, flags, lun, cblen = struct.unpack("<IIBBB", d[4:15])
        cdb = d[15:15 + cblen]
        op = cdb[0]
        status, data = 0, b""
        if self.busy_left and op == 0x00:
            self.busy_left -= 1
            status, self.sense = 1, (2, 4, 1)
        elif op == 0x12:
            data = bytes([0, 0x80, 4, 2, 31, 0, 0, 0]) + b"fake    " + b"fake disk       " + b"1.0 "
        elif op == 0x00:
            pass
        elif op == 0x03:
            k, a, q = self.sense
            data = bytes([0x70, 0, k, 0, 0, 0, 0, 10, 0, 0, 0, 0, a, q, 0, 0, 0, 0])
            self.sense = (0, 0, 0)
        elif op == 0x25:
            data = struct.pack(">II", self.blocks - 1, 512)
        elif op == 0x1A:
            data = bytes([3, 0, 0x80, 0])
        elif op == 0x1E:
            pass
        elif op == 0x28:
            lba, n = struct.unpack(">IxH", cdb[2:9])
            if self.defect == "ua" and not self.ua_done and lba + n > 16:
                self.ua_done = True
                status, self.sense = 1, (6, 0x28, 0)
            else:
                data = b"".join(self.block(lba + i) for i in range(n))
        else:
            status, self.sense = 1, (5, 0x20, 0)
        data = data[:dlen]
        residue = dlen - len(data)
        self.data = data
        self.csw = struct.pack("<4sIIB", b"USBS", tag, residue, status)
        self.bot = "data" if dlen else "csw"
        if status and dlen:
            self.halted.add(0x81)  # no data: halt IN, the CSW after the clear
            self.bot = "csw"
        if self.stall_once and op == 0x28 and dlen:
            # The first READ(10) fails before any data: IN halted, CSW "failed", sense
            # NOT READY / BECOMING READY (the host clears the halt, reads the CSW, asks
            # REQUEST SENSE, waits and retries).
            self.stall_once = False
            self.data = b""
            self.halted.add(0x81)
            self.csw = struct.pack("<4sIIB", b"USBS", tag, dlen, 1)
            self.sense = (2, 4, 1)
            self.bot = "csw"

    def hangs(self, ep):
        """hang-ctl: the configuration descriptor's data stage never comes; hang-bulk:
        a READ(10)'s data never comes."""
        if self.defect == "hang-ctl":
            return ep == 0 and self.ctl is not None and self.ctl[0][:2] == self.cfg[:2]
        if self.defect == "hang-bulk":
            return ep == 1 and self.bot == "data" and len(self.data) > 512
        return False

    def bulk_in(self):
        if 0x81 in self.halted:
            return STALL, 0, b""
        if self.defect == "nak":
            self.nak_flip = not self.nak_flip
            if self.nak_flip:
                return NAK, 0, b""
        tog = self.in_toggle[1]
        if self.bot == "data":
            chunk, self.data = self.data[:64], self.data[64:]
            if not self.data:
                self.bot = "csw"
        elif self.bot == "csw":
            chunk = self.csw
            self.bot = "cbw"
        else:
            return NAK, 0, b""
        self.in_toggle[1] ^= 1
        return ACK, tog, chunk


def main():
    path = sys.argv[1]
    defect = None
    blocks = 64
    args = sys.argv[2:]
    while args:
        if args[0] == "--defect":
            defect = args[1]
        elif args[0] == "--blocks":
            blocks = int(args[1])
        args = args[2:]
    dev = Device(defect, blocks)
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    print("fake usb device: listening on", path, flush=True)
    conn, _ = srv.accept()

    def recv(n):
        b = b""
        while len(b) < n:
            c = conn.recv(n - len(b))
            if not c:
                sys.exit(0)
            b += c
        return b

    while True:
        op, n = struct.unpack(">BH", recv(3))
        p = recv(n)
        st, out = 0, b""
        dev.now += 10000
        if op == OP_HELLO:
            out = struct.pack(">BI", 2, 400000)
        elif op in (OP_WAIT, OP_TIME):
            if op == OP_WAIT:
                dev.now += struct.unpack(">Q", p)[0]
            out = struct.pack(">Q", dev.now)
        elif op == OP_RESET:
            dev.now += struct.unpack(">Q", p)[0]
            dev.addr, dev.ctl, dev.halted, dev.bot = 0, None, set(), "cbw"
            out = bytes([1]) + struct.pack(">Q", dev.now)
        elif op == OP_SETUP:
            addr, ep = p[0], p[1]
            if addr != dev.addr or ep != 0:
                st = NOANSWER
            else:
                ok = dev.setup(p[2:10])
                if not ok:
                    dev.ctl = None
                    dev.stall_ep0 = True
            out = struct.pack(">Q", dev.now)
        elif op == OP_OUT:
            addr, ep, tog = p[0], p[1], p[2]
            data = p[7:]
            if addr != dev.addr:
                st = NOANSWER
            elif ep == 0:
                st = ACK  # status stage or control OUT data
                dev.ctl = None
            elif 0x02 in dev.halted:
                st = STALL
            elif tog != dev.out_toggle.get(ep, 0):
                st = ACK
            else:
                dev.out_toggle[ep] ^= 1
                if dev.bot == "cbw":
                    dev.cbw(data)
            out = struct.pack(">IQ", 0, dev.now)
        elif op == OP_IN:
            addr, ep, mx = p[0], p[1], struct.unpack(">H", p[2:4])[0]
            if addr != dev.addr:
                st, tog, data = NOANSWER, 0, b""
            elif dev.hangs(ep):
                # Never answers this transfer: every IN NAKed, the server's retry budget
                # spent on each (as flashbridge-sim's USB_IN does), so the host's own
                # timeout is what ends it.
                dev.now += struct.unpack(">I", p[4:8])[0] * 1000
                st, tog, data = NAK, 0, b""
            elif ep == 0:
                if getattr(dev, "stall_ep0", False):
                    dev.stall_ep0 = False
                    st, tog, data = STALL, 0, b""
                else:
                    st, tog, data = dev.ep0_in(mx)
            else:
                st, tog, data = dev.bulk_in()
            out = bytes([tog]) + struct.pack(">IQ", 0, dev.now) + (data if st == ACK else b"")
        else:
            st = 0xFF
        conn.sendall(struct.pack(">BBH", op | 0x80, st, len(out)) + out)


if __name__ == "__main__":
    main()
