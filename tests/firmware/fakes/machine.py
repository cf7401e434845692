# Fake `machine` module for firmware tests on the MicroPython WebAssembly port (which has none).
#
# I2C and SPI route register transactions to chip models (tests/firmware/fakes/fake_*.py) that expose
#   read_into(reg, buf)   fill buf from register reg on (the chip's own auto-increment rules)
#   write(reg, data)      write data to register reg on
# Errors match the ESP32 port: a missing I2C device raises OSError(ENODEV) (errno 19).
# Every transaction can be observed (counters) or delayed (the `before` hook: tests use it to make
# the fake clock jump while the caller is blocked on the bus).

ENODEV = 19


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._value = 1 if value else 0
        self._handler = None
        self._trigger = 0
        self._listeners = []

    def value(self, v=None):
        if v is None:
            return self._value
        old = self._value
        self._value = 1 if v else 0
        if old != self._value:
            for fn in self._listeners:
                fn(self)
            if self._handler is not None:
                edge = Pin.IRQ_RISING if self._value else Pin.IRQ_FALLING
                if self._trigger & edge:
                    self._handler(self)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=IRQ_FALLING | IRQ_RISING):
        self._handler = handler
        self._trigger = trigger

    def listen(self, fn):
        # Test helper: fn(pin) on every level change.
        self._listeners.append(fn)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, *, atten=ATTN_11DB):
        self.pin = pin
        self.atten = atten
        self.raw_u16 = 0  # what read_u16() returns; tests set it
        self.uv = 0  # what read_uv() returns

    def read_u16(self):
        return self.raw_u16

    def read(self):
        return self.raw_u16 >> 4

    def read_uv(self):
        return self.uv


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        self.id = id
        self.freq = freq
        self.devices = {}
        self.transactions = 0
        self.bytes_read = 0
        self.bytes_written = 0
        self.before = None  # hook(i2c, addr, reg, nbytes, write) called before each transaction

    def attach(self, addr, device):
        self.devices[addr] = device
        return device

    def _dev(self, addr, reg, n, write):
        if self.before is not None:
            self.before(self, addr, reg, n, write)
        self.transactions += 1
        d = self.devices.get(addr)
        if d is None:
            raise OSError(ENODEV)
        return d

    def scan(self):
        return sorted(self.devices)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr, memaddr, len(buf), False).read_into(memaddr, buf)
        self.bytes_read += len(buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        b = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, b)
        return bytes(b)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr, memaddr, len(buf), True).write(memaddr, buf)
        self.bytes_written += len(buf)

    def writeto(self, addr, buf, stop=True):
        # A bare write: the first byte is the register address (sets the pointer), the rest data.
        d = self._dev(addr, buf[0] if len(buf) else 0, len(buf), True)
        if len(buf) > 1:
            d.write(buf[0], buf[1:])
        self._ptr = buf[0] if len(buf) else 0
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._dev(addr, getattr(self, "_ptr", 0), len(buf), False).read_into(getattr(self, "_ptr", 0), buf)

    def readfrom(self, addr, nbytes, stop=True):
        b = bytearray(nbytes)
        self.readfrom_into(addr, b)
        return bytes(b)


class SPI:
    """4-wire SPI to chip models selected by their CS pin (low = selected).

    The first byte written after CS goes low is the register address; bit 7 set = read. Then
    readinto() reads from that register on, write() writes to it.
    """

    MSB = 0

    def __init__(
        self,
        id=1,
        baudrate=1000000,
        *,
        polarity=0,
        phase=0,
        bits=8,
        firstbit=0,
        sck=None,
        mosi=None,
        miso=None,
    ):
        self.id = id
        self.baudrate = baudrate
        self.devices = []
        self.transactions = 0
        self._reg = None

    def attach(self, cs, device):
        self.devices.append((cs, device))
        cs.listen(self._cs_changed)
        return device

    def _cs_changed(self, pin):
        self._reg = None

    def _selected(self):
        for cs, d in self.devices:
            if not cs.value():
                return d
        raise OSError(ENODEV)

    def write(self, buf):
        d = self._selected()
        if self._reg is None:
            self.transactions += 1
            self._reg = buf[0]
            buf = buf[1:]
        if len(buf):
            if self._reg & 0x80:
                raise OSError(5)  # data written during a read
            d.write(self._reg & 0x7F, buf)

    def readinto(self, buf, write=0):
        d = self._selected()
        if self._reg is None or not self._reg & 0x80:
            raise OSError(5)  # no read address sent
        d.read_into(self._reg & 0x7F, buf)

    def read(self, nbytes, write=0):
        b = bytearray(nbytes)
        self.readinto(b, write)
        return bytes(b)


def freq(hz=None):
    return 240000000


def idle():
    pass
