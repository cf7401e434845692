# A filesystem volume of limited size for firmware tests (runs on MicroPython).
#
# Volume(capacity) hands out files that write through to real (in-memory) files but count the bytes
# they grow by against the capacity, like a nearly full littlefs: a write that does not fit writes
# what fits (a torn block) and raises OSError(ENOSPC), as the ESP32 port does. free_bytes() is what
# guard.statvfs_free() would return; ballast() occupies space that release() frees again.
ENOSPC = 28


class Volume:
    def __init__(self, capacity):
        self.capacity = capacity
        self.used = 0
        self.enospc = 0  # writes that failed
        self.statvfs_calls = 0
        self._ballast = 0

    def free_bytes(self):
        self.statvfs_calls += 1
        return self.capacity - self.used

    def open(self, path, mode="wb"):
        return VolumeFile(self, open(path, mode))

    def ballast(self, n):
        self.used += n
        self._ballast += n

    def release(self):
        self.used -= self._ballast
        self._ballast = 0


class VolumeFile:
    def __init__(self, vol, f):
        self.vol = vol
        self.f = f
        self.pos = 0
        self.size = 0

    def write(self, b):
        n = len(b)
        grow = self.pos + n - self.size
        free = self.vol.capacity - self.vol.used
        if grow > free:
            k = n - (grow - free)  # bytes that still fit
            if k > 0:
                self.f.write(bytes(b[:k]))
                self._moved(k)
            self.vol.enospc += 1
            raise OSError(ENOSPC)
        self.f.write(b)
        self._moved(n)
        return n

    def _moved(self, n):
        self.pos += n
        if self.pos > self.size:
            self.vol.used += self.pos - self.size
            self.size = self.pos

    def seek(self, pos, whence=0):
        self.f.seek(pos, whence)
        self.pos = pos
        return pos

    def tell(self):
        return self.pos

    def flush(self):
        self.f.flush()

    def close(self):
        self.f.close()
