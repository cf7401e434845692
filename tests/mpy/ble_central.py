# MicroPython side of the BLE bridge (tests/mpy/ble_radio.py): the firmware's BleSync serves the fake
# aioble radio, and this central proxy carries the host's fake BleakClient calls to it, one text line
# each over the bridge's file descriptor:
#   C mtu           connect (a new central, the laptop; not encrypted until paired)
#   P               pair: encrypted; bonded when the clip's stack bonds (aioble fake: pairing window)
#   W hex           write the control characteristic
#   R uuid          read a characteristic (the UUID string) -> "V hex"
#   D               disconnect -> "X"
# and notifications go back as "N hex"; "READY" once the clip is up.
import asyncio
import binascii

import aioble
import bluetooth
import bridge_io
import link_ble


async def central_proxy(ble):
    reader, writer = bridge_io.Reader(), bridge_io.Writer()
    writer.write(
        b"READY\n"
    )  # the host side waits for this before it connects (a slow start is no lost frame)
    conn = None
    line = bytearray()
    buf = bytearray(4096)
    while True:
        n = await reader.readinto(buf)
        if not n:
            return
        line += buf[:n]
        while True:
            i = line.find(b"\n")
            if i < 0:
                break
            cmd, arg = bytes(line[:1]), bytes(line[2:i])
            line = line[i + 1 :]
            if cmd == b"C":
                conn = aioble.central(mtu=int(arg), buffers=4, per_ms=4, addr=b"laptop")
                conn.on_notify = lambda d: writer.write(b"N " + binascii.hexlify(d) + b"\n")
            elif cmd == b"P":
                conn.pair()
            elif cmd == b"W":
                await conn.write(link_ble.CONTROL_UUID, binascii.unhexlify(arg))
            elif cmd == b"R":
                key = arg.decode()
                if key.endswith("-0000-1000-8000-00805f9b34fb"):  # a 16-bit SIG UUID in long form
                    key = str(int(key[4:8], 16))
                uuid = bluetooth.UUID(int(key) if key.isdigit() else key)
                writer.write(b"V " + binascii.hexlify(conn.read(uuid)) + b"\n")
            elif cmd == b"D":
                if conn is not None:
                    conn.disconnect()
                writer.write(b"X\n")


async def main(server, name, pairing=None):
    ble = link_ble.BleSync(server, name, battery_pct=lambda: 77, pairing=pairing)
    device = asyncio.create_task(ble.run())
    await central_proxy(ble)
    device.cancel()
    print("@@served", server.requests, server.errors)
