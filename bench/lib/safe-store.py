# The syscalls of a crash-safe content store, without xp: each file read whole, written to a
# temporary name beside its object in a prefix folder (O_CREAT|O_EXCL), closed, renamed.
# (No hash: a crc32 names the objects; XXH3 of 422 MiB adds ~0.12 s of CPU.)
#
#   safe-store.py SRC STORE            the add: SRC's files into STORE
#   safe-store.py SRC STORE WORKTREE   a fresh clone's pull: SRC (a remote's objects) into
#                                      STORE, and each file again into WORKTREE, also under a
#                                      temporary name then renamed (no half-written file)
import os, sys, zlib
src, dst = sys.argv[1], sys.argv[2]
worktree = sys.argv[3] if len(sys.argv) > 3 else None
os.mkdir(dst)
made = set()
n = 0

def write_safely(folder, name, data):
    if folder not in made:
        os.makedirs(folder, exist_ok=True)
        made.add(folder)
    tmp = os.path.join(folder, '.' + name + '.tmp')
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    os.write(out, data)
    os.close(out)
    os.rename(tmp, os.path.join(folder, name))

for root, dirs, files in os.walk(src):
    for f in files:
        p = os.path.join(root, f)
        fd = os.open(p, os.O_RDONLY)
        data = os.read(fd, os.fstat(fd).st_size)
        os.close(fd)
        name = '%08x%08x' % (zlib.crc32(data), n)
        n += 1
        write_safely(os.path.join(dst, name[:2]), name[2:], data)
        if worktree:
            rel = os.path.relpath(root, src)
            write_safely(os.path.join(worktree, rel), f, data)
