#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Write the seed corpora of the libFuzzer harnesses: tests/fuzz/NAME-seeds/NAME-N.

A few valid inputs per harness, in each harness's own input format (see the
comment at the top of tests/fuzz/fuzz_NAME.c and tests/fuzz/fuzz.h). Seeds
written by hand (regression inputs: crash-*, timeout-*) are left alone.
Run from anywhere: tests/fuzz/mkseeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, seeds):
    d = os.path.join(HERE, name + '-seeds')
    os.makedirs(d, exist_ok=True)
    for i, s in enumerate(seeds, 1):
        with open(os.path.join(d, '%s-%d' % (name, i)), 'wb') as f:
            f.write(s)


def u16(v): return struct.pack('<H', v)
def u32(v): return struct.pack('<I', v)
def u64(v): return struct.pack('<Q', v & (2**64 - 1))

# ---- vhost-user stream records (fuzz.h) ----

MEMFD, MEMFD_SMALL, EVENTFD, SOCKET = range(4)
VERSION, REPLY, NEED_REPLY = 1, 4, 8


def rec(req, payload=b'', flags=VERSION, nfds=0, kind=MEMFD):
    return bytes([nfds | kind << 3]) + struct.pack('<III', req, flags, len(payload)) + payload


def mem(off, data):
    """A write into the memfd that backs guest memory (vhost_backend)."""
    out = b''
    while data:
        part, data = data[:255], data[255:]
        out += bytes([0x40]) + u16(off // 8) + bytes([len(part)]) + part
        off += len(part)
    return out


def peer(data):
    """Bytes the frontend writes on the backend channel (vhost_backend: its answers)."""
    return bytes([0x40]) + u16(0xffff) + bytes([len(data)]) + data


def region(gpa, size, uva, off):
    return u64(gpa) + u64(size) + u64(uva) + u64(off)


def desc(addr, length, flags, nxt):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


NEXT, WRITE, INDIRECT = 1, 2, 4
PF = dict(MQ=0, REPLY_ACK=3, BACKEND_REQ=5, CONFIG=9, SEND_FD=10, RESET=13, MEM_SLOTS=15, SHMEM=22)


def pf(*names):
    return sum(1 << PF[n] for n in names)


def state(i, n): return u32(i) + u32(n)


def vhost_backend():
    UVA, QSZ = 0x10000000, 8
    ring = (desc(0x1000, 16, NEXT, 1) + desc(0x2000, 32, WRITE, 0) +
            desc(0x3000, 32, INDIRECT, 0))
    avail = u16(0) + u16(2) + u16(0) + u16(2)
    ind = desc(0x1100, 8, NEXT, 1) + desc(0x2100, 8, WRITE, 0)
    start = (rec(9, u32(0) + u32(0) + u64(UVA) + u64(UVA + 0x900) + u64(UVA + 0x800) + u64(0)) +
             rec(10, state(0, 0)) + rec(8, state(0, QSZ)) +
             rec(13, u64(0), nfds=1, kind=EVENTFD) + rec(14, u64(0x100)) +
             rec(12, u64(0), nfds=1, kind=EVENTFD) + rec(18, state(0, 1)))
    hello = (rec(1) + rec(15) + rec(16, u64(pf('REPLY_ACK', 'CONFIG', 'MQ')), VERSION | NEED_REPLY) +
             rec(17) + rec(3, flags=VERSION | NEED_REPLY) + rec(36) +
             rec(2, u64(1 << 32 | 1 << 30 | 1 << 29 | 1)) +
             rec(24, u32(0) + u32(16) + u32(0) + bytes(16)) +
             rec(25, u32(8) + u32(4) + u32(0) + b'abcd', VERSION | NEED_REPLY) +
             rec(44) + rec(34) + rec(99))
    ring_seed = (rec(2, u64(1 << 32 | 1 << 30 | 1 << 28)) +
                 rec(16, u64(pf('REPLY_ACK', 'MEM_SLOTS'))) +
                 rec(5, u32(1) + u32(0) + region(0, 0x10000, UVA, 0), VERSION | NEED_REPLY, 1, MEMFD) +
                 mem(0, ring) + mem(0x800, avail) + mem(0x3000, ind) + mem(0x1000, b'hello, backend') +
                 start + rec(11, state(0, 0)))
    slots = (rec(16, u64(pf('REPLY_ACK', 'MEM_SLOTS', 'SHMEM', 'BACKEND_REQ', 'SEND_FD'))) +
             rec(37, u64(0) + region(0x100000000, 0x100000, 0x20000000, 0), VERSION | NEED_REPLY, 1, MEMFD) +
             rec(37, u64(0) + region(0x200000000, 0x2000, 0x30000000, 0), VERSION | NEED_REPLY, 1, MEMFD_SMALL) +
             rec(37, u64(0) + region(0x100080000, 0x1000, 0x40000000, 0), VERSION | NEED_REPLY, 1, MEMFD) +
             rec(38, u64(0) + region(0x100000000, 0x100000, 0, 0), VERSION | NEED_REPLY) +
             rec(21, nfds=1, kind=SOCKET) +
             peer(struct.pack('<III', 9, VERSION | REPLY, 8) + u64(0) +
                  struct.pack('<III', 10, VERSION | REPLY, 8) + u64(-22) +
                  struct.pack('<III', 9, VERSION | REPLY, 8) + u64(-4096)) +
             rec(44) + rec(4))
    # A ring in a small file: its second page is past the file's end.
    eof = (rec(2, u64(1 << 32 | 1 << 30)) + rec(16, u64(pf('MEM_SLOTS'))) +
           rec(37, u64(0) + region(0, 0x4000, UVA, 0), nfds=1, kind=MEMFD_SMALL) +
           rec(37, u64(0) + region(0x10000, 0x10000, UVA + 0x10000, 0x800), nfds=1, kind=MEMFD) +
           start + rec(11, state(0, 0)))
    # Framing broken: a payload shorter than the header says, then the stream ends.
    raw = rec(1) + bytes([0x80]) + struct.pack('<III', 5, VERSION, 264) + bytes([16]) + bytes(16)
    return [hello, ring_seed, slots, eof, raw]


def vhost_frontend():
    R = VERSION | REPLY

    def rep(req, payload=b'', **kw):
        return rec(req, payload, R, **kw)

    def ack(req, v=0):
        return rep(req, u64(v))

    every = pf('MQ', 'REPLY_ACK', 'CONFIG', 'BACKEND_REQ', 'SEND_FD', 'RESET', 'SHMEM', 'MEM_SLOTS')
    hs = rep(1, u64(1 << 30 | 1 << 32 | 1)) + rep(15, u64(every)) + rep(17, u64(2)) + ack(3)
    shm = u32(2) + u32(0) + u64(1 << 30) + u64(0) * 2 + u64(2 << 20) + bytes(8 * 252)
    cfg = u32(0) + u32(16) + u32(0) + bytes(range(16))
    ops = [0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a]
    good = (bytes([len(ops)]) + bytes(ops) + hs + ack(2) + rep(24, cfg) + ack(5) +
            b''.join(ack(r) for r in (8, 9, 10, 13, 14, 12, 18)) + rep(11, state(0, 7)) + ack(34) +
            rep(44, shm) + ack(21))
    plain = bytes([2, 0x00, 0x05]) + rep(1, u64(1 << 32)) + rep(11, state(0, 3))
    nack = bytes([3, 0x03, 0x11, 0x07]) + hs + ack(5, 2**64 - 22) + rep(24, cfg)
    badshm = bytes([1, 0x07]) + hs + rep(44, u32(3) + u32(0) + u64(4097) + bytes(8 * 255))
    withfd = bytes([1, 0x01]) + hs + rep(24, cfg, nfds=1, kind=MEMFD)
    wrong = bytes([1, 0x05]) + hs + rep(12, state(0, 1)) + rep(11, state(0, 1))
    return [good, plain, nack, badshm, withfd, wrong]


def backend_channel():
    def mmap(shmid, fd_off, shm_off, length, flags):
        return bytes([shmid]) + bytes(7) + u64(fd_off) + u64(shm_off) + u64(length) + u64(flags)

    MAP, UNMAP, CHANGE = 9, 10, 2
    NR = VERSION | NEED_REPLY
    seeds = []
    for flags in (0x0f, 0x0e, 0x08, 0x0d):
        seeds.append(bytes([flags]) +
                     rec(MAP, mmap(0, 0, 0, 0x10000, 1), NR, 1, MEMFD) +
                     rec(MAP, mmap(7, 0x1000, 0x100000, 0x2000, 0), NR, 1, MEMFD) +
                     rec(MAP, mmap(0, 0, 0x8000, 0x10000, 1), NR, 1, MEMFD) +   # overlaps
                     rec(MAP, mmap(0, 0, 0x200000, 0x2000, 0), NR, 1, MEMFD_SMALL) +  # past EOF
                     rec(UNMAP, mmap(0, 0, 0, 0x10000, 0), NR) +
                     rec(UNMAP, mmap(0, 0, 0, 0x1000, 0), NR) +  # not a whole mapping
                     rec(CHANGE, b'', NR) + rec(4, u64(0), NR) + rec(8, bytes(16), NR) +
                     rec(MAP, mmap(0, 0, 0x400000, 0x1000, 1), VERSION, 1, EVENTFD))
    return seeds


# ---- FUSE requests (fuzz_fsd.c) ----

OP = dict(LOOKUP=1, FORGET=2, GETATTR=3, SETATTR=4, READLINK=5, SYMLINK=6, MKNOD=8, MKDIR=9,
          UNLINK=10, RMDIR=11, RENAME=12, LINK=13, OPEN=14, READ=15, WRITE=16, STATFS=17,
          RELEASE=18, FSYNC=20, FLUSH=25, INIT=26, OPENDIR=27, READDIR=28, RELEASEDIR=29,
          ACCESS=34, CREATE=35, DESTROY=38, BATCH_FORGET=42, FALLOCATE=43, READDIRPLUS=44,
          RENAME2=45, LSEEK=46, SETUPMAPPING=48, REMOVEMAPPING=49)
ROOT = 1


def node(i): return 0xfffffffffffffe00 | i
def fh(i): return 0xffffffffffffff00 | i


class Fuse:
    def __init__(self):
        self.unique = 0
        self.out = b''

    def __call__(self, op, nodeid=ROOT, arg=b'', ctl=0):
        self.unique += 1
        hdr = struct.pack('<IIQQIIIHH', 40 + len(arg), OP[op], self.unique, nodeid, 0, 0, 0, 0, 0)
        self.out += bytes([ctl]) + hdr + arg
        return self


def name(s): return s.encode() + b'\0'


def init(flags=0):
    return u32(7) + u32(38) + u32(65536) + u32(flags) + bytes(48)


def read_in(f, off, size): return u64(f) + u64(off) + u32(size) + u32(0) + u64(0) + u32(0) + u32(0)


def fsd():
    MAP_ALIGNMENT, MAX_PAGES = 1 << 26, 1 << 22
    a = (Fuse()('INIT', 0, init(MAX_PAGES))('LOOKUP', ROOT, name('hello.txt'))
         ('OPEN', node(0), u32(0) + u32(0))('READ', node(0), read_in(fh(0), 7, 100))
         ('GETATTR', node(0), bytes(16))('RELEASE', node(0), u64(fh(0)) + bytes(16))
         ('FORGET', node(0), u64(1))('STATFS', ROOT)('ACCESS', ROOT, u32(4) + u32(0), ctl=1)
         ('LOOKUP', ROOT, name('sub'), ctl=2)('LOOKUP', node(1), name('inner.txt'), ctl=3))
    setattr_size = u32(1 << 3) + u32(0) + bytes(8) + u64(2) + bytes(88 - 24)
    b = (Fuse()('INIT', 0, init())('CREATE', ROOT, u32(2) + u32(0o100644) + u32(0o22) + u32(0) + name('new.txt'))
         ('WRITE', node(0), u64(fh(0)) + u64(0) + u32(5) + u32(0) + u64(0) + u32(0) + u32(0) + b'abcde')
         ('SETATTR', node(0), setattr_size)('LOOKUP', ROOT, name('sub'))
         ('RENAME', ROOT, u64(node(1)) + name('new.txt') + name('moved'))
         ('MKDIR', ROOT, u32(0o755) + u32(0) + name('dd'))('RMDIR', ROOT, name('dd'))
         ('SYMLINK', ROOT, name('ln') + name('hello.txt'))('READLINK', node(2))
         ('LINK', node(1), u64(node(0)) + name('hard'))
         ('RENAME2', node(1), u64(ROOT) + u32(2) + u32(0) + name('hard') + name('hello.txt'))
         ('UNLINK', node(1), name('moved'), ctl=0x10)
         ('FALLOCATE', node(0), u64(fh(0)) + u64(0) + u64(4096) + u32(0) + u32(0))
         ('LSEEK', node(0), u64(fh(0)) + u64(0) + u32(3) + u32(0))
         ('FSYNC', node(0), u64(fh(0)) + u32(1) + u32(0))('FLUSH', node(0), u64(fh(0)) + bytes(16)))
    c = (Fuse()('INIT', 0, init())('OPENDIR', ROOT, u32(0) + u32(0))
         ('READDIR', ROOT, read_in(fh(0), 0, 4096))('READDIRPLUS', ROOT, read_in(fh(0), 0, 300))
         ('RELEASEDIR', ROOT, u64(fh(0)) + bytes(16))('LOOKUP', ROOT, name('escape'))
         ('LOOKUP', node(0), name('canary.txt'))('OPEN', node(0), u32(2) + u32(0))
         ('LOOKUP', ROOT, name('abs'))('SETATTR', node(1), u32(1) + bytes(84))
         ('LOOKUP', ROOT, name('..'))('LOOKUP', ROOT, name('pipe'))('OPEN', node(2), u32(0) + u32(0))
         ('MKNOD', ROOT, u32(0o10644) + u32(0) + u32(0) + u32(0) + name('fifo2'))
         ('BATCH_FORGET', 0, u32(2) + u32(0) + u64(node(0)) + u64(1) + u64(node(1)) + u64(1)))
    mapping = lambda f_off, length, flags, m_off: u64(fh(0)) + u64(f_off) + u64(length) + u64(flags) + u64(m_off)
    d = (Fuse()('INIT', 0, init(MAP_ALIGNMENT))('LOOKUP', ROOT, name('hello.txt'))
         ('SETUPMAPPING', node(0), mapping(0, 4096, 2, 0))('SETUPMAPPING', node(0), mapping(0, 4096, 3, 0))
         ('SETUPMAPPING', node(0), mapping(0, 2 << 20, 3, 2 << 20))
         ('SETUPMAPPING', node(0), mapping(0, 4 << 20, 2, 0))
         ('REMOVEMAPPING', node(0), u32(1) + u64(2 << 20) + u64(4096))
         ('REMOVEMAPPING', node(0), u32(2) + u64(0) + u64(4 << 20) + u64(8 << 20) + u64(4096))
         ('SETUPMAPPING', node(0), mapping(0, 4096, 1, 6 << 20))('DESTROY', 0)('INIT', 0, init(MAP_ALIGNMENT)))
    return [a.out, b.out, c.out, d.out]


# ---- virtqueues (fuzz_virtq.c) ----

def virtq():
    def seed(flags, base, descs, avail_idx, ring, extra=()):
        m = bytearray(0x1200)
        d = b''.join(descs)
        m[0:len(d)] = d
        m[0x800:0x804] = u16(0) + u16(avail_idx)
        for i, h in enumerate(ring):
            m[0x804 + 2 * i:0x806 + 2 * i] = u16(h)
        for off, data in extra:
            m[off:off + len(data)] = data
        return bytes([flags]) + u16(base) + bytes(m)

    simple = seed(3, 0, [desc(0x1000, 16, NEXT, 1), desc(0x2000, 32, WRITE, 0)], 1, [0])
    ind = seed(3 | 8, 0, [desc(0x1100, 32, INDIRECT, 0)], 1, [0],
               [(0x1100, desc(0x3000, 8, NEXT, 1) + desc(0x4000, 8, WRITE, 0))])
    two = seed(2, 0xfffe, [desc(0x1000, 1, 0, 0), desc(0x2000, 64, WRITE | NEXT, 2), desc(0x3000, 8, WRITE, 0)],
               0, [0, 1])
    hole = seed(1, 0, [desc(0x8800, 16, 0, 0)], 1, [0])
    loop = seed(3, 0, [desc(0x1000, 16, NEXT, 1), desc(0x2000, 16, NEXT, 0)], 1, [0])
    return [simple, ind, two, hole, loop]


# ---- kernels (fuzz_boot.c) ----

def bzimage(syssize=4096, init_size=4 << 20, pref=0x1000000, version=0x20f, setup_sects=4, extra=0):
    setup = ((setup_sects or 4) + 1) * 512
    b = bytearray(setup + syssize + extra)
    b[0x1f1] = setup_sects
    b[0x1f4:0x1f8] = u32(syssize // 16)
    b[0x200] = 0xeb
    b[0x201] = 0x6a
    b[0x202:0x206] = b'HdrS'
    b[0x206:0x208] = u16(version)
    b[0x211] = 1
    b[0x22c:0x230] = u32(0x7fffffff)
    b[0x230:0x234] = u32(0x200000)
    b[0x234] = 1
    b[0x236:0x238] = u16(0x7f)
    b[0x238:0x23c] = u32(2047)
    b[0x258:0x260] = u64(pref)
    b[0x260:0x264] = u32(init_size)
    for i in range(syssize):
        b[setup + i] = (i * 7 + 1) & 0xff
    return bytes(b)


def vmlinux(descsz=4, paddr=0x1000000):
    def note(nm, typ, desc_):
        nm = nm.encode() + b'\0'
        pad = lambda x: x + bytes(-len(x) % 4)
        return struct.pack('<III', len(nm), len(desc_), typ) + pad(nm) + pad(desc_)

    notes = (note('Xen', 6, b'linux\0') + note('Linux', 0x100, u32(0x1234)) + note('Xen', 17, u32(0x1234)) +
             note('Xen', 18, u32(0x1000123) if descsz == 4 else u64(0x1000123)))
    b = bytearray(0x1000 + 0x2000)
    eh = (b'\x7fELF' + bytes([2, 1, 1]) + bytes(9) +
          struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0xffffffff81000000, 64, 0, 0, 64, 56, 2, 0, 0, 0))
    ph = (struct.pack('<IIQQQQQQ', 1, 0, 0x1000, 0xffffffff81000000, paddr, 0x2000, 0x3000, 0) +
          struct.pack('<IIQQQQQQ', 4, 0, 0x400, 0, 0, len(notes), len(notes), 0))
    b[0:64] = eh
    b[64:64 + 112] = ph
    b[0x400:0x400 + len(notes)] = notes
    for i in range(0x2000):
        b[0x1000 + i] = (i * 13 + 5) & 0xff
    return bytes(b)


def boot():
    def seed(flags, ncpus, cmdline, initrd, kernel):
        c = cmdline.encode()
        return bytes([flags, ncpus]) + u16(len(c)) + u32(initrd) + c + kernel

    cl = 'console=ttyS0 panic=-1'
    return [seed(0, 1, cl, 0, bzimage()),
            seed(4 | 1, 2, cl, 1 << 20, bzimage(pref=0x2000000, init_size=8 << 20, extra=64)),
            seed(4 | 3, 4, cl, 1 << 20, vmlinux()),
            seed(3, 1, '', 0, vmlinux(descsz=8)),
            seed(8, 1, '', 0, bytes([0xf4] * 64)),
            seed(4 | 2, 1, cl, 12 << 20, bzimage(version=0x20c, setup_sects=0))]


# ---- shmvm run (fuzz_run_chan.c, fuzz_mods.c, fuzz_modinfo.c) ----

def frame(t, payload=b''): return t.encode() + u16(len(payload)) + payload


def run_chan():
    ok = frame('H') + frame('S') + frame('O', b'hello\n') + frame('E', b'oops\n') + frame('X', b'\x00')
    return [bytes([2, 1, 7]) + ok,
            bytes([1, 0]) + frame('H') + frame('O', b'x' * 300) + frame('X', b'\x7f') + b'trailing',
            bytes([3, 2, 3, 5]) + frame('H') + frame('F', b'cannot exec \x1b[1m/bin/x'),
            bytes([1, 1]) + frame('H') + frame('F'),
            bytes([0]) + frame('H') + frame('H'),
            bytes([1, 4]) + frame('H') + b'O' + u16(5000)]


SYNTH_DEP = (b"kernel/a/top.ko.xz: kernel/b/mid-one.ko.xz kernel/c/base.ko.xz\n"
             b"kernel/c/base.ko.xz:\n"
             b"kernel/d/other.ko.xz: kernel/e/leaf.ko.xz kernel/c/base.ko.xz\n"
             b"kernel/b/mid-one.ko.xz: kernel/c/base.ko.xz\n"
             b"kernel/e/leaf.ko.xz:\n"
             b"kernel/f/wide.ko.xz:\tkernel/e/leaf.ko.xz  kernel/b/mid-one.ko.xz kernel/a/top.ko.xz\n"
             b"kernel/g/dangling.ko.xz: kernel/z/nowhere.ko.xz\n"
             b"kernel/h/cyc1.ko: kernel/h/cyc2.ko\n"
             b"kernel/h/cyc2.ko: kernel/h/cyc1.ko\n"
             b"kernel/i/uses-builtin.ko: kernel/j/bi.ko\n"
             b"kernel/k/plain.ko:")
SYNTH_BUILTIN = b"kernel/j/bi.ko\nkernel/fs/ext4/ext4.ko\n"


def mods():
    return [b"top\nwide\nmid_one\0" + SYNTH_DEP + b"\0" + SYNTH_BUILTIN,
            b"uses_builtin\next4\0" + SYNTH_DEP + b"\0" + SYNTH_BUILTIN,
            b"dangling\0" + SYNTH_DEP,
            b"cyc1\0" + SYNTH_DEP,
            b"virtio_fs\nfuse\0kernel/fs/fuse/virtiofs.ko: kernel/fs/fuse/fuse.ko\nkernel/fs/fuse/fuse.ko:\n"]


def elf_rel(sections):
    """A little-endian ELF64 relocatable: header, .shstrtab, the sections' data, section headers."""
    names = b'\0.shstrtab\0'
    name_off = []
    for n, _, _ in sections:
        name_off.append(len(names))
        names += n + b'\0'
    data, offs = b'', []
    for _, _, d in sections:
        offs.append(64 + len(names) + len(data))
        data += d
    shoff = (64 + len(names) + len(data) + 7) & ~7
    n = len(sections) + 2
    eh = (b'\x7fELF\x02\x01\x01' + bytes(9) + u16(1) + u16(62) + u32(1) + u64(0) + u64(0) +
          u64(shoff) + u32(0) + u16(64) + u16(0) + u16(0) + u16(64) + u16(n) + u16(1))
    body = eh + names + data
    body += bytes(shoff - len(body))

    def sh(name, typ, off, size):
        return u32(name) + u32(typ) + u64(0) + u64(0) + u64(off) + u64(size) + u32(0) + u32(0) + u64(0) + u64(0)
    body += sh(0, 0, 0, 0) + sh(1, 3, 64, len(names))
    for i, (_, typ, d) in enumerate(sections):
        body += sh(name_off[i], typ, offs[i], len(d))
    return body


def pvh_exec(name=b'Xen\0', typ=18):
    note = u32(4) + u32(4) + u32(typ) + name + u32(0x1000000)
    eh = (b'\x7fELF\x02\x01\x01' + bytes(9) + u16(2) + u16(62) + u32(1) + u64(0x1000000) +
          u64(64) + u64(0) + u32(0) + u16(64) + u16(56) + u16(1) + u16(64) + u16(0) + u16(0))
    ph = u32(4) + u32(4) + u64(120) + u64(0) + u64(0) + u64(len(note)) + u64(len(note)) + u64(4)
    return eh + ph + note


def modinfo():
    mi = b'license=GPL\0depends=fuse,virtio,virtio_ring\0intree=Y\0name=virtiofs\0vermagic=6.1.0 SMP\0'
    order = b'# order\nfs/fuse/fuse.ko\nkernel/drivers/virtio/virtio_pci.o\n../x-y.ko\n/a.ko\n'
    return [elf_rel([(b'.text', 1, b'\xc3'), (b'.modinfo', 1, mi)]),
            elf_rel([(b'.modinfo', 1, b'depends=\0\0\0name=a\0'), (b'.modinfo', 1, b'depends=')]),
            elf_rel([(b'.modinfo', 8, mi)]),
            pvh_exec(),
            pvh_exec(b'GNU\0', 3),
            order + b'CONFIG_VIRTIO_FS=m\n# CONFIG_VIRTIO_FS is not set\n']
# ---- the virtio-console, as its driver (fuzz_virtio_console.c) ----

class Console:
    """A driver's script: queue q's rings at 0x1000 * (q + 1), buffers from 0x10000."""
    QSZ = 16

    def __init__(self, flags=0, qflags=1):
        self.out = bytes([flags])
        for q in range(6):
            base = 0x1000 * (q + 1)
            self.out += bytes([4, qflags]) + u16(base // 16) + u16((base + 0x400) // 16) + \
                u16((base + 0x800) // 16)
        self.nd = [0] * 6       # next descriptor per queue
        self.ai = [0] * 6       # avail index per queue
        self.buf = 0x10000
        self.shadow = bytearray(0x80000)

    def ram(self, gpa, data):
        """RAM writes start at multiples of 8: write whole 8-byte words from a shadow copy."""
        self.shadow[gpa:gpa + len(data)] = data
        start, end = gpa & ~7, (gpa + len(data) + 7) & ~7
        while start < end:
            n = min(end - start, 248)
            self.out += bytes([0]) + u16(start // 8) + bytes([n]) + bytes(self.shadow[start:start + n])
            start += n
        return self

    def alloc(self, n):
        at = self.buf
        self.buf += (n + 15) & ~15
        return at

    def chain(self, q, segs, indirect=False):
        """segs: (bytes to write, or a length for a writable buffer) each."""
        base = 0x1000 * (q + 1)
        descs = []
        for data in segs:
            if isinstance(data, int):
                descs.append((self.alloc(data), data, WRITE))
            else:
                at = self.alloc(len(data))
                self.ram(at, data)
                descs.append((at, len(data), 0))
        if indirect:
            table = b''.join(desc(a, n, f | (NEXT if i + 1 < len(descs) else 0), i + 1)
                             for i, (a, n, f) in enumerate(descs))
            at = self.alloc(len(table))
            self.ram(at, table)
            descs = [(at, len(table), INDIRECT)]
        head = self.nd[q] % self.QSZ
        for i, (a, n, f) in enumerate(descs):
            d = (head + i) % self.QSZ
            last = i + 1 == len(descs)
            self.ram(base + 16 * d, desc(a, n, f | (0 if last else NEXT), (d + 1) % self.QSZ))
        self.nd[q] += len(descs)
        self.ram(base + 0x400 + 4 + 2 * (self.ai[q] % self.QSZ), u16(head))
        self.ai[q] += 1
        self.ram(base + 0x400 + 2, u16(self.ai[q]))
        return self

    def ctrl(self, port, event, value):
        return self.chain(3, [u32(port) + u16(event) + u16(value)])

    def kick(self, q): self.out += bytes([1, q]); return self
    def settle(self): self.out += bytes([2]); return self
    def data_in(self, port, data): self.out += bytes([3, port, len(data)]) + data; return self
    def eof(self, port): self.out += bytes([4 | port << 3]); return self
    def reset(self):
        self.out += bytes([5])
        self.nd, self.ai = [0] * 6, [0] * 6
        for q in range(6):  # a new driver's rings start from zero
            self.ram(0x1000 * (q + 1), bytes(0x1000))
        return self
    def common(self, off, width, v): self.out += bytes([6, off, width]) + u32(v); return self
    def drained(self): self.out += bytes([7]); return self

    def handshake(self):
        for _ in range(12):
            self.chain(2, [64])
        self.kick(2)
        self.ctrl(0, 0, 1).ctrl(0, 3, 1).ctrl(1, 3, 1).ctrl(1, 6, 1).kick(3).settle()
        return self


def virtio_console():
    hello = Console().handshake()
    out = Console(flags=2).handshake()
    out.chain(5, [b'abc', b'defg', b'hij']).chain(5, [b'klmnopq', b'rstuvwxyz'], indirect=True)
    out.chain(1, [b'console\n']).kick(5).kick(1).drained().settle()
    cb = Console(flags=1).handshake().chain(1, [b'to the callback']).kick(1).settle()
    inp = Console().handshake().data_in(1, b'hello').data_in(0, b'typed')
    for _ in range(3):
        inp.chain(4, [16]).chain(0, [8, 8])
    inp.kick(4).kick(0).settle().data_in(1, b'more').eof(1).eof(0).settle()
    reset = Console().handshake().chain(5, [b'before']).kick(5).settle().reset().handshake()
    reset.ctrl(1, 6, 0).chain(4, [32]).kick(4).kick(3).data_in(1, b'x').settle()
    reset.ctrl(1, 6, 1).kick(3).settle().common(0x14, 1, 0).drained().settle()
    hostile = Console(qflags=1).handshake().ctrl(7, 3, 1).ctrl(1, 99, 0).kick(3)
    hostile.chain(5, [b'x']).ram(0x6000 + 0x400 + 2, u16(40)).kick(5).settle()
    # The guest closes a port while the device waits on its pipe with a buffer; bytes come:
    # the device must not keep waking on them (it did: the harness's idle check aborts).
    closed = Console().handshake().chain(4, [16]).kick(4).settle().ctrl(1, 6, 0).kick(3).settle()
    closed.data_in(1, b'unread').settle().ctrl(1, 6, 1).kick(3).settle()
    return [s.out for s in (hello, out, cb, inp, reset, hostile, closed)]


if __name__ == '__main__':
    for n, f in [('vhost_backend', vhost_backend), ('vhost_frontend', vhost_frontend),
                 ('backend_channel', backend_channel), ('fsd', fsd), ('virtq', virtq), ('boot', boot),
                 ('run_chan', run_chan), ('mods', mods), ('modinfo', modinfo),
                 ('virtio_console', virtio_console)]:
        write(n, f())
