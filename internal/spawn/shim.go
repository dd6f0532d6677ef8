package spawn

import (
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// ShimMain is the portable shim: flint re-executed as `flint __spawn FD` (cmd/flint calls it
// with the arguments after the verb). It runs the same program block as the clone path's
// assembly, with raw system calls on one locked thread, and returns only on failure, with the
// exit status. Start uses it where there is no clone path (every architecture but amd64).
func ShimMain(args []string) int {
	runtime.LockOSThread() // credentials are per thread for raw setuid; execve from this one
	if len(args) != 1 {
		return StatusException
	}
	ctl, err := strconv.Atoi(args[0])
	if err != nil || ctl < 3 {
		return StatusException
	}
	block, ok := readProgram(ctl)
	if !ok {
		return StatusException
	}
	return runProgram(ctl, block)
}

// readProgram reads the block into 8-byte aligned memory.
func readProgram(ctl int) ([]uint64, bool) {
	w, _, ok := readProgramN(ctl)
	return w, ok
}

// readProgramN is readProgram that also tells how many bytes it read (some may follow the
// block: the sandboxed path's spec).
func readProgramN(ctl int) ([]uint64, int, bool) {
	words := make([]uint64, 1024)
	got := 0
	for {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
		n, err := syscall.Read(ctl, b[got:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return nil, 0, false
		}
		got += n
		if got >= 8 && uint64(got) >= words[0] {
			return words[:(got+7)/8], got, true
		}
		if got == len(b) {
			need := len(words) * 2
			if got >= 8 && int(words[0]/8+1) > need {
				need = int(words[0]/8 + 1)
			}
			w := make([]uint64, need)
			copy(w, words)
			words = w
		}
	}
}

// relocate turns the block's offsets into addresses of w's memory, and returns the address of
// the first op and their number.
func relocate(w []uint64) (ops uintptr, nops uintptr) {
	base := uint64(uintptr(unsafe.Pointer(&w[0])))
	relOff, relN := w[1]/8, w[2]
	for i := uint64(0); i < relN; i++ {
		w[w[relOff+i]/8] += base
	}
	return uintptr(base + w[3]), uintptr(w[4])
}

func runProgram(ctl int, w []uint64) int { return runProgramHook(ctl, w, nil) }

// runProgramHook runs the program; its opSandbox pseudo-ops call stage (the sandboxed path),
// which returns a failure's status, step and errno (status 0: done).
func runProgramHook(ctl int, w []uint64, stage func(stage uint64) (int, uint64, syscall.Errno)) int {
	base := uint64(uintptr(unsafe.Pointer(&w[0])))
	relocate(w)
	opOff, opN := w[3]/8, w[4]
	var saved uintptr
	for i := uint64(0); i < opN; i++ {
		o := w[opOff+i*opWords : opOff+(i+1)*opWords]
		flags := o[8]
		if flags&opListenPID != 0 {
			pid := strconv.Itoa(syscall.Getpid())
			all := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8)
			dst := all[o[1]-base:]
			copy(dst, pid)
			dst[len(pid)] = 0
			continue
		}
		if flags&opSandbox != 0 {
			if stage == nil {
				return StatusException
			}
			if status, step, errno := stage(o[1]); status != 0 {
				var rep [3]uint64
				rep[0], rep[1], rep[2] = uint64(status), uint64(errno), step
				syscall.Write(ctl, unsafe.Slice((*byte)(unsafe.Pointer(&rep[0])), reportBytes))
				return status
			}
			continue
		}
		a0 := uintptr(o[1])
		if flags&opUseSaved != 0 {
			a0 = saved
		}
		a1 := uintptr(o[2])
		if flags&opUseSaved1 != 0 {
			a1 = saved
		}
		r, _, errno := syscall.RawSyscall6(uintptr(o[0]), a0, a1, uintptr(o[3]),
			uintptr(o[4]), uintptr(o[5]), uintptr(o[6]))
		skip := flags >> 8 & 0xff
		if errno != 0 {
			if flags&opIgnoreError != 0 {
				continue
			}
			if e := uint64(errno); e == flags>>16&0xff || e == flags>>24&0xff || e == flags>>32&0xff || e == flags>>40&0xff {
				if flags&opSkipOnOK == 0 {
					i += skip
				}
				continue
			}
			var rep [3]uint64
			rep[0], rep[1], rep[2] = o[7], uint64(errno), o[9]
			syscall.Write(ctl, unsafe.Slice((*byte)(unsafe.Pointer(&rep[0])), reportBytes))
			return int(o[7])
		}
		if flags&opSaveResult != 0 {
			saved = r
		}
		if flags&opSkipOnOK != 0 {
			i += skip
		}
	}
	runtime.KeepAlive(w)
	return StatusException
}
