# Relays IP packets between a TUN device and stdin/stdout, each packet
# framed by a 2-byte big-endian length, so a test can put sdk/tcp on one
# end of a real kernel interface. Usage: tun-relay.py IFNAME
# Prints nothing but frames on stdout; "ready" goes to stderr once the
# device exists.
import fcntl, os, select, struct, sys

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
sys.stderr.write("ready\n"); sys.stderr.flush()
out = sys.stdout.buffer
inp = sys.stdin.buffer.raw
os.set_blocking(fd, False)
buf = b""
while True:
    r, _, _ = select.select([fd, inp], [], [])
    if fd in r:
        frames = []
        while True:
            try:
                p = os.read(fd, 65536)
            except BlockingIOError:
                break
            frames.append(struct.pack(">H", len(p)) + p)
        if frames:
            out.write(b"".join(frames)); out.flush()
    if inp in r:
        chunk = inp.read(1 << 20)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2:
            n = struct.unpack(">H", buf[:2])[0]
            if len(buf) < 2 + n:
                break
            try:
                os.write(fd, buf[2 : 2 + n])
            except OSError:
                pass  # a full queue drops, as a wire would
            buf = buf[2 + n :]
