package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// readIOStat sums cgroup2's io.stat: one line per device, "MAJ:MIN rbytes=N wbytes=N
// rios=N wios=N dbytes=N dios=N" (an empty file: no IO yet, all zero).
func (s *Stats) readIOStat(file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	s.HasIO = true
	for _, line := range strings.Split(string(b), "\n") {
		for _, kv := range strings.Fields(line) {
			k, v, ok := strings.Cut(kv, "=")
			n, err := strconv.ParseUint(v, 10, 64)
			if !ok || err != nil {
				continue
			}
			switch k {
			case "rbytes":
				s.IOReadBytes += n
			case "wbytes":
				s.IOWriteBytes += n
			case "rios":
				s.IOReadOps += n
			case "wios":
				s.IOWriteOps += n
			}
		}
	}
}

// readBlkio sums v1's blkio.throttle.io_service_bytes and io_serviced ("MAJ:MIN Read N",
// "MAJ:MIN Write N", ..., "Total N"), of the group and those below it where the kernel has
// the _recursive files.
func (s *Stats) readBlkio(dir string) {
	read := func(name string) (r, w uint64, ok bool) {
		b, err := os.ReadFile(filepath.Join(dir, name+"_recursive"))
		if err != nil {
			if b, err = os.ReadFile(filepath.Join(dir, name)); err != nil {
				return 0, 0, false
			}
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			n, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil {
				continue
			}
			switch f[1] {
			case "Read":
				r += n
			case "Write":
				w += n
			}
		}
		return r, w, true
	}
	rb, wb, ok1 := read("blkio.throttle.io_service_bytes")
	ro, wo, ok2 := read("blkio.throttle.io_serviced")
	if ok1 && ok2 {
		s.IOReadBytes, s.IOWriteBytes, s.IOReadOps, s.IOWriteOps, s.HasIO = rb, wb, ro, wo, true
	}
}
