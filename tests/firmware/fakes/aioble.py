# Fake aioble (runs on MicroPython): the peripheral API firmware/link_ble.py uses, plus a central side
# for the tests, standing in for the radio and the NimBLE stack.
#
# Peripheral: Service, Characteristic (written() with capture, notify(), write(), read()),
# register_services(), advertise(), config().
# Central (tests): conn = central(mtu=247, encrypted=True, bonded=True) hands a connection to the
# next advertise(); await conn.write(uuid, data) writes a characteristic; conn.read(uuid) reads one;
# notifications arrive in conn.received (or conn.on_notify(data)); conn.disconnect().
# Pairing: conn.pair() is what the stack does when the central asks to pair (LE Secure Connections,
# Just Works). A central whose keys the stack holds (bonds, by address) is encrypted with them and
# bonded; a new one is bonded, and its keys kept, only while the peripheral allows bonding
# (config(bond=True): NimBLE's sm_bonding, which MicroPython's ble.config(bond=...) sets at any time),
# else the link is encrypted without a bond (the stack keeps no keys). forget_bonds() empties the store.
# The stack holds at most conn.buffers notifications; notify() raises OSError(ENOMEM) beyond that.
# The air delivers conn.per_ms notifications per millisecond.
import asyncio

_services = []
_chars = {}
_config = {}
_waiting = []
_arrived = asyncio.Event()
bonds = set()  # addresses of the centrals whose bond keys the stack holds


def forget_bonds():
    bonds.clear()


class Service:
    def __init__(self, uuid):
        self.uuid = uuid
        self.characteristics = []
        _services.append(self)


class Characteristic:
    def __init__(
        self,
        service,
        uuid,
        read=False,
        write=False,
        write_no_response=False,
        notify=False,
        capture=False,
        initial=None,
    ):
        service.characteristics.append(self)
        self.uuid = uuid
        self.flags = {"read": read, "write": write or write_no_response, "notify": notify, "capture": capture}
        self.value = initial.encode() if isinstance(initial, str) else (initial or b"")
        self._writes = []
        self._event = asyncio.Event()
        _chars[uuid] = self

    def read(self):
        return self.value

    def write(self, data, send_update=False):
        self.value = bytes(data)

    async def written(self, timeout_ms=None):
        while not self._writes:
            self._event.clear()
            await self._event.wait()
        return self._writes.pop(0)

    def notify(self, connection, data=None):
        if not self.flags["notify"]:
            raise ValueError("Not supported")
        connection._notify(self, data)


def register_services(*services):
    for s in services:
        s.registered = True


def config(**kw):
    _config.update(kw)


async def advertise(interval_us, name=None, services=None, appearance=0, timeout_ms=None):
    _config["advertised"] = (name, services, appearance)
    while not _waiting:
        _arrived.clear()
        await _arrived.wait()
    conn = _waiting.pop(0)
    conn._start()
    return conn


class Connection:
    def __init__(self, mtu=23, encrypted=False, bonded=False, buffers=8, per_ms=6, addr=b"central"):
        self.mtu = mtu
        self.encrypted = encrypted
        self.bonded = bonded
        self.authenticated = False  # Just Works: never MITM-protected
        self.addr = addr
        self.buffers = buffers
        self.per_ms = per_ms
        self.received = []
        self.on_notify = None
        self.refused = 0
        self._queue = []
        self._gone = asyncio.Event()
        self._connected = False
        self._air_task = None

    def _start(self):
        self._connected = True
        self._air_task = asyncio.create_task(self._air())

    def is_connected(self):
        return self._connected

    def pair(self):
        # The central asks to pair; returns whether the link is bonded afterwards.
        self.encrypted = True
        if self.addr in bonds:
            self.bonded = True
        elif _config.get("bond"):
            self.bonded = True
            bonds.add(self.addr)
        else:
            self.bonded = False
        return self.bonded

    def _notify(self, char, data):
        if not self._connected:
            raise OSError(128)  # ENOTCONN
        if len(data) > self.mtu - 3:
            raise ValueError("notification longer than MTU - 3")
        if len(self._queue) >= self.buffers:
            self.refused += 1
            raise OSError(12)  # ENOMEM: the stack is out of buffers
        self._queue.append(bytes(data))

    async def _air(self):
        while self._connected:
            for _ in range(self.per_ms):
                if not self._queue:
                    break
                data = self._queue.pop(0)
                if self.on_notify:
                    self.on_notify(data)
                else:
                    self.received.append(data)
            await asyncio.sleep_ms(1)

    async def write(self, uuid, data):
        if len(data) > self.mtu - 3:
            raise ValueError("write longer than MTU - 3")
        char = _chars[uuid]
        char.value = bytes(data)
        char._writes.append((self, bytes(data)))
        char._event.set()
        await asyncio.sleep_ms(0)

    def read(self, uuid):
        return _chars[uuid].read()

    def disconnect(self):
        self._connected = False
        self._gone.set()

    async def disconnected(self, timeout_ms=None):
        await self._gone.wait()


def central(mtu=23, encrypted=False, bonded=False, **kw):
    conn = Connection(mtu, encrypted, bonded, **kw)
    _waiting.append(conn)
    _arrived.set()
    return conn
