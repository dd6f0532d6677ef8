//go:build linux && amd64

package spawn

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

const nativeAvailable = true

// Addresses fixed by testdata/nativeshim.S.
const (
	nativeText   = 0x400000
	nativeBuf    = 0x10000000
	nativeBufCap = 0x400000
)

// nativeELF wraps nativeShimCode in a minimal static ELF64 executable: one R+X segment holding
// headers and code, one zero-filled R+W segment for the program buffer, and PT_GNU_STACK so the
// stack is not executable.
func nativeELF() []byte {
	const ehsize, phsize, phnum = 64, 56, 3
	hdr := ehsize + phsize*phnum
	b := make([]byte, hdr, hdr+len(nativeShimCode))
	le := binary.LittleEndian
	copy(b, "\x7fELF\x02\x01\x01") // 64-bit, little-endian, version 1, System V ABI
	le.PutUint16(b[16:], 2)        // ET_EXEC
	le.PutUint16(b[18:], 62)       // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], nativeText+uint64(hdr)) // entry
	le.PutUint64(b[32:], ehsize)                 // phoff
	le.PutUint16(b[52:], ehsize)
	le.PutUint16(b[54:], phsize)
	le.PutUint16(b[56:], phnum)
	ph := func(i int, typ, flags uint32, vaddr, filesz, memsz uint64) {
		p := b[ehsize+i*phsize:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[16:], vaddr) // vaddr
		le.PutUint64(p[24:], vaddr) // paddr
		le.PutUint64(p[32:], filesz)
		le.PutUint64(p[40:], memsz)
		le.PutUint64(p[48:], 0x1000)
	}
	total := uint64(hdr + len(nativeShimCode))
	ph(0, 1 /* PT_LOAD */, 5 /* R+X */, nativeText, total, total)
	ph(1, 1 /* PT_LOAD */, 6 /* R+W */, nativeBuf, 0, nativeBufCap)
	ph(2, 0x6474e551 /* PT_GNU_STACK */, 6, 0, 0, 0)
	return append(b, nativeShimCode...)
}

var native struct {
	once sync.Once
	path string
	err  error
}

// nativeShimPath writes the shim into a sealed memfd once and returns a path that execve
// accepts. It names the memfd through this process's pid, not /proc/self: in the child,
// between fork and exec, fds are being rearranged and the parent's table is the stable one.
func nativeShimPath() (string, error) {
	native.once.Do(func() {
		fd, err := unix.MemfdCreate("flint-spawn", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
		if err == unix.EINVAL { // kernels before 6.3 know no MFD_EXEC
			fd, err = unix.MemfdCreate("flint-spawn", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		}
		if err != nil {
			native.err = fmt.Errorf("memfd_create: %w", err)
			return
		}
		img := nativeELF()
		if _, err := unix.Write(fd, img); err != nil {
			unix.Close(fd)
			native.err = fmt.Errorf("write shim: %w", err)
			return
		}
		if err := unix.Fchmod(fd, 0o555); err != nil {
			unix.Close(fd)
			native.err = fmt.Errorf("chmod shim: %w", err)
			return
		}
		seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
			unix.Close(fd)
			native.err = fmt.Errorf("seal shim: %w", err)
			return
		}
		// The fd stays open (close-on-exec) for the life of the process.
		native.path = fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), fd)
	})
	return native.path, native.err
}
