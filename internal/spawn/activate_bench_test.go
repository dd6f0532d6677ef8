package spawn

import (
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// BenchmarkActivateAccept is socket activation in accept (inetd) mode end to end: a client
// connects and times the first byte of /bin/echo's answer, served either by
// systemd-socket-activate --inetd -a (when installed) or by an accept loop here that starts
// each connection's echo with Start. Ports 20300-20301.
func BenchmarkActivateAccept(b *testing.B) {
	client := func(b *testing.B, addr string) {
		var first []time.Duration
		buf := make([]byte, 8)
		for b.Loop() {
			t0 := time.Now()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
			first = append(first, time.Since(t0))
			c.Close()
		}
		slices.Sort(first)
		b.ReportMetric(float64(first[len(first)/2].Nanoseconds()), "median-ns-to-first-byte")
	}
	b.Run("systemd-socket-activate", func(b *testing.B) {
		ssa, err := exec.LookPath("systemd-socket-activate")
		if err != nil {
			b.Skip("systemd-socket-activate not installed")
		}
		cmd := exec.Command(ssa, "--inetd", "-a", "-l", "127.0.0.1:20300", "/bin/echo", "x")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", "127.0.0.1:20300")
			if err == nil {
				c.Close()
				break
			}
			if i > 200 {
				b.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		client(b, "127.0.0.1:20300")
	})
	for _, m := range startModes() {
		b.Run("Start-"+m.name, func(b *testing.B) {
			setMode(b, m)
			ln, err := net.Listen("tcp", "127.0.0.1:20301")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					f, err := c.(*net.TCPConn).File()
					c.Close()
					if err != nil {
						continue
					}
					p, err := Start(&Config{Path: "/bin/echo", Argv: []string{"echo", "x"}, Stdin: f, Stdout: f,
						Env: []string{"PATH=/usr/bin:/bin"}, NewSession: true})
					f.Close()
					if err != nil {
						continue
					}
					go func() { p.ExecResult(); waitPid(b, p.Pid) }()
				}
			}()
			client(b, "127.0.0.1:20301")
		})
	}
}
