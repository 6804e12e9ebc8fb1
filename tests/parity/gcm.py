"""A small pure-Python reader for gradcore model files (docs/FORMAT.md, 1.x).

    f = read_gcm("grads.gcm")
    f.sections["model"].metadata["model.architecture"]
    f.sections["grads"].tensors["grad.conv1.weight"]   # (dtype, shape, bytes)

Little-endian struct parsing; checks the magic, byte order, sizes and every
CRC-32C (each tensor's and the whole file's) and raises GcmError naming what
does not match.
"""
import struct

MAGIC = b"\x89GCM\r\n\x1a\n"
END_MAGIC = b"GCM-END\x00"
DTYPES = {0: ("f32", 4, "f"), 4: ("i32", 4, "i"), 5: ("u64", 8, "Q")}  # the ones a reader here can decode


class GcmError(Exception):
    pass


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


class Section:
    def __init__(self, name):
        self.name = name
        self.metadata = {}
        self.tensors = {}  # name -> (dtype name, shape tuple, bytes)

    def values(self, name):
        """The tensor's elements as a flat list (f32 → float, i32/u64 → int)."""
        dtype, shape, data = self.tensors[name]
        code = next(c for c, d in DTYPES.items() if d[0] == dtype)
        return list(struct.unpack("<%d%s" % (len(data) // DTYPES[code][1], DTYPES[code][2]), data))


class GcmFile:
    def __init__(self):
        self.version = (0, 0)
        self.sections = {}


class _Reader:
    def __init__(self, data, pos):
        self.data, self.pos = data, pos

    def take(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise GcmError("tables: truncated at byte %d" % self.pos)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def string(self):
        n = self.take("<I")
        if self.pos + n > len(self.data):
            raise GcmError("tables: string of %d bytes runs past the tables" % n)
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def meta_value(self):
        kind = self.take("<I")
        if kind == 0:
            return self.take("<q")
        if kind == 1:
            return self.take("<d")
        if kind == 2:
            return self.string()
        if kind in (3, 4, 5):
            count = self.take("<I")
            item = {3: lambda: self.take("<q"), 4: lambda: self.take("<d"), 5: self.string}[kind]
            return [item() for _ in range(count)]
        raise GcmError("metadata: unknown value type %d" % kind)


def read_gcm(path, verify=True):
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 80 or data[:8] != MAGIC:
        raise GcmError("%s: not a gradcore model file (magic)" % path)
    major, minor, order, header_size, section_count = struct.unpack_from("<HHIII", data, 8)
    if order != 0x01020304:
        raise GcmError("%s: byte order marker 0x%08x, expected little-endian 0x01020304" % (path, order))
    if major != 1:
        raise GcmError("%s: version %d.%d, this reader reads 1.x" % (path, major, minor))
    tables_offset, tables_size, data_offset, data_size, file_size = struct.unpack_from("<QQQQQ", data, 24)
    if file_size != len(data) or data[-16:-8] != END_MAGIC:
        raise GcmError("%s: file_size %d, actual %d (truncated?)" % (path, file_size, len(data)))
    if verify:
        stored = struct.unpack_from("<I", data, file_size - 4)[0]
        if crc32c(data[:file_size - 4]) != stored:
            raise GcmError("%s: whole-file CRC-32C mismatch" % path)

    f = GcmFile()
    f.version = (major, minor)
    r = _Reader(data[:tables_offset + tables_size], tables_offset)
    for _ in range(section_count):
        s = Section(r.string())
        meta_count, tensor_count = r.take("<II")
        for _ in range(meta_count):
            key = r.string()
            s.metadata[key] = r.meta_value()
        for _ in range(tensor_count):
            name = r.string()
            dtype, rank = r.take("<II")
            shape = tuple(r.take("<q") for _ in range(rank))
            offset, length, crc = r.take("<QQI")
            if dtype not in DTYPES:
                raise GcmError("%s: tensor '%s': dtype %d not supported by this reader" % (path, name, dtype))
            if offset < data_offset or offset + length > data_offset + data_size:
                raise GcmError("%s: tensor '%s' lies outside the data region" % (path, name))
            blob = data[offset:offset + length]
            if verify and crc32c(blob) != crc:
                raise GcmError("%s: tensor '%s': CRC-32C mismatch" % (path, name))
            s.tensors[name] = (DTYPES[dtype][0], shape, blob)
        f.sections[s.name] = s
    return f
