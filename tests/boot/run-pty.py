#!/usr/bin/env python3
# run-pty.py SHMVM: `shmvm run` with no command on a terminal, driven
# through a pseudo-terminal the way a person at a keyboard would: the
# caller's shell on a guest pty (tty names one), its size and a resize,
# Ctrl-C stopping a guest `sleep` while the VM lives on, Ctrl-Z and job
# control, a full-screen program (top), the shell's exit status, the caller's terminal restored; then
# Ctrl-A x stopping a second VM. Each step waits for output computed in the
# guest (echo $((...))), never for the typed text echoed back. Prints TAP-ish
# "ok:"/"FAIL:" lines; exit status 1 if any failed. Needs /dev/kvm.
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

shmvm = sys.argv[1]
# A patient deadline per step, only so that a hang fails instead of stalling
# the suite (the suite's own budget is the real limit); not a measurement.
STEP = float(os.environ.get("RUN_PTY_STEP", "300"))
fails = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg, flush=True)


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Session:
    def __init__(self, args, rows, cols):
        env = dict(os.environ, SHELL="/bin/bash", HOME="/nonexistent", TERM="xterm",
                   PS1="shmvm$ ")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(shmvm, [shmvm, "run"] + args, env)
            finally:
                os._exit(127)
        set_size(self.fd, rows, cols)
        self.before = termios.tcgetattr(self.fd)
        self.out = b""

    def send(self, data):
        os.write(self.fd, data)

    def expect(self, needle, what, step=None):
        """Read until @needle appears after what was already seen; True if it did.
        With @step (seconds), giving up is not a failure: the caller asks again."""
        start = len(self.out)
        end = time.monotonic() + (step or STEP)
        while needle not in self.out[start:]:
            left = end - time.monotonic()
            if left <= 0:
                if step is None:
                    fail("%s: no %r within %.0f s; last output %r" % (what, needle, STEP, self.out[-300:]))
                return False
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    fail("%s: the terminal closed before %r; last output %r" % (what, needle, self.out[-300:]))
                    return False
                self.out += data
        return True

    def wait(self, what):
        """The exit status of shmvm, after reading all it wrote."""
        end = time.monotonic() + STEP
        while time.monotonic() < end:
            r, _, _ = select.select([self.fd], [], [], 1)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                self.out += data
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
        fail("%s: shmvm still running after %.0f s" % (what, STEP))
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return None


# ---- 1: the shell, step by step ----
s = Session([], 30, 100)
s.send(b"echo M$((3+4))\r")
if s.expect(b"M7", "a command"):
    ok("the caller's shell answers on a terminal")
s.send(b"tty; echo T$((1+1))\r")
if s.expect(b"T2", "tty"):
    line = s.out[s.out.rfind(b"tty;"):]
    if b"/dev/pts/" in line:
        ok("tty names a pseudo-terminal")
    else:
        fail("tty: %r" % line[-200:])
s.send(b"stty size; echo S$((2+2))\r")
if s.expect(b"S4", "stty size"):
    if b"30 100" in s.out[s.out.rfind(b"stty size;"):]:
        ok("the guest's terminal has the caller's size")
    else:
        fail("size at start: %r" % s.out[-200:])
set_size(s.fd, 40, 120)  # the kernel sends shmvm SIGWINCH
# The new size travels on the channel, the keys on stdin: ask until it is there.
for i in range(60):
    mark = b"R%d" % (1000 + i)
    s.send(b"stty size; echo R$((1000+%d))\r" % i)
    if not s.expect(mark, "stty size after a resize"):
        break
    if b"40 120" in s.out[s.out.rfind(b"R$((1000+%d))" % i):]:
        ok("a resize reaches the guest")
        break
    time.sleep(1)
else:
    fail("size after a resize: %r" % s.out[-200:])
s.send(b"sh -c 'echo P$((4+4)); exec sleep 1000'\r")
s.expect(b"P8", "a sleep in the foreground")
s.send(b"\x03")
s.send(b"echo C$((60+70)) $?\r")
if s.expect(b"C130", "Ctrl-C"):
    if b"C130 130" in s.out[-400:]:
        ok("Ctrl-C stops the guest's sleep (status 130), the VM runs on")
    else:
        fail("Ctrl-C: %r" % s.out[-200:])
s.send(b"sh -c 'echo Q$((5+4)); exec sleep 1000'\r")
s.expect(b"Q9", "another sleep in the foreground")
s.send(b"\x1a")
if s.expect(b"Stopped", "Ctrl-Z"):
    # kill continues the stopped job with its SIGTERM; wait for its end, or the
    # shell's first exit would refuse ("There are stopped jobs").
    s.send(b"jobs; kill %1; wait %1; echo Z$((9*9))\r")
    if s.expect(b"Z81", "job control"):
        ok("Ctrl-Z stops the job; jobs and kill %1 work")
# A full-screen program: top draws its screen and takes its keys (q) from the pty.
if os.path.exists("/usr/bin/top"):
    s.send(b"TERM=xterm top -d 1\r")
    if s.expect(b"load average", "top's screen"):
        s.send(b"q")
        # top flushes what was typed ahead when it leaves: ask until the shell answers.
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            n = int((deadline - time.monotonic()) * 10)
            s.send(b"echo F$((4900+%d))\r" % n)
            if s.expect(b"F%d" % (4900 + n), "the shell after top", step=5):
                ok("a full-screen program (top) draws and quits on its key")
                break
        else:
            fail("the shell after top: no answer within %.0f s; last output %r" % (STEP, s.out[-300:]))
else:
    print("SKIP: a full-screen program: no /usr/bin/top on this host", flush=True)
s.send(b"exit 3\r")
status = s.wait("exit 3")
if status == 3:
    ok("shmvm run returns the shell's status (3)")
elif status is not None:
    fail("status %s, not 3; last output %r" % (status, s.out[-300:]))
try:
    after = termios.tcgetattr(s.fd)
    if after == s.before:
        ok("the caller's terminal is restored")
    else:
        fail("terminal settings changed: %r -> %r" % (s.before, after))
except termios.error as e:
    fail("cannot read the terminal's settings after: %s" % e)
os.close(s.fd)

# ---- 2: Ctrl-A x ----
s = Session(["--", "sh", "-c", "echo E$((1+2)); exec sleep 1000"], 24, 80)
if s.expect(b"E3", "the escape's run"):
    s.send(b"\x01x")
    status = s.wait("Ctrl-A x")
    if status is not None and status != 0 and b"Ctrl-A x" in s.out:
        ok("Ctrl-A x stops the VM (status %d) with a line saying so" % status)
    elif status is not None:
        fail("Ctrl-A x: status %s, output %r" % (status, s.out[-300:]))
    try:
        if termios.tcgetattr(s.fd) == s.before:
            ok("the terminal is restored after Ctrl-A x")
        else:
            fail("terminal not restored after Ctrl-A x")
    except termios.error as e:
        fail("cannot read the terminal's settings after Ctrl-A x: %s" % e)
os.close(s.fd)

print("FAIL: %d checks" % fails if fails else "all passed")
sys.exit(1 if fails else 0)
