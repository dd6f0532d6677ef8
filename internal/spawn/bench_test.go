package spawn

import (
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStart starts /bin/echo with LISTEN_PID and reads the first byte it writes — the
// shape of a socket-activated service answering its first client — for each shim, against
// syscall.ForkExec of /bin/echo alone (what systemd-socket-activate costs: one fork, one exec).
// Metrics: median-ns-to-first-byte (the one that matters), ns-to-exec (Start until Exec
// delivers nil; ForkExec until it returns), ns/op (also reaping).
func BenchmarkStart(b *testing.B) {
	env := []string{"PATH=/usr/bin:/bin", "LISTEN_FDS=1"}
	null, err := os.Open("/dev/null")
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	nullFD, _ := fileFD(null)
	run := func(b *testing.B, start func(w *os.File) (pid int, exec func())) {
		var toExec time.Duration
		var first []time.Duration
		buf := make([]byte, 16)
		for b.Loop() {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			pid, exec := start(w)
			w.Close()
			if _, err := r.Read(buf); err != nil {
				b.Fatal(err)
			}
			first = append(first, time.Since(t0))
			exec()
			toExec += time.Since(t0)
			r.Close()
			waitPid(b, pid)
		}
		slices.Sort(first)
		b.ReportMetric(float64(first[len(first)/2].Nanoseconds()), "median-ns-to-first-byte")
		b.ReportMetric(float64(toExec.Nanoseconds())/float64(b.N), "ns-to-exec")
	}
	b.Run("forkexec", func(b *testing.B) {
		run(b, func(w *os.File) (int, func()) {
			wfd, _ := fileFD(w)
			pid, err := syscall.ForkExec("/bin/echo", []string{"echo", "x"}, &syscall.ProcAttr{Env: env,
				Files: []uintptr{uintptr(nullFD), uintptr(wfd), uintptr(nullFD), uintptr(nullFD)}})
			if err != nil {
				b.Fatal(err)
			}
			return pid, func() {}
		})
	})
	for _, m := range startModes() {
		b.Run(m.name, func(b *testing.B) {
			setMode(b, m)
			run(b, func(w *os.File) (int, func()) {
				p, err := Start(&Config{Path: "/bin/echo", Argv: []string{"echo", "x"}, Env: env,
					SetListenPID: true, ExtraFiles: []*os.File{null}, NewSession: true, Stdout: w})
				if err != nil {
					b.Fatal(err)
				}
				return p.Pid, func() {
					if err := p.ExecResult(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
