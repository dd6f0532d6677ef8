package main

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/bench/internal/procnet"
)

func TestSummarise(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		name        string
		in          []time.Duration
		median, p90 time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{"ten_unsorted", ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5), 6 * time.Millisecond, 10 * time.Millisecond},
		{"tail_of_two", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 500, 500), time.Millisecond, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := summarise(tc.in)
			if s.n != len(tc.in) || s.median != tc.median || s.p90 != tc.p90 {
				t.Errorf("summarise = %+v, want n=%d median=%v p90=%v", s, len(tc.in), tc.median, tc.p90)
			}
		})
	}
}

// serve runs handle on every connection ln accepts, until ln is closed.
func serve(ln net.Listener, handle func(c net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

// echoServer serves io.Copy echo on ln until it is closed.
func echoServer(ln net.Listener) {
	serve(ln, func(c net.Conn) {
		io.Copy(c, c)
		c.Close()
	})
}

func TestFirstByteAndListening(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "echo.sk")
	if procnet.UnixListening(sock) {
		t.Fatal("UnixListening before listen")
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go echoServer(ln)
	if !procnet.UnixListening(sock) {
		t.Fatal("UnixListening = false on a listening socket")
	}
	d, err := firstByte(sock, 5*time.Second)
	if err != nil || d <= 0 {
		t.Fatalf("firstByte = %v, %v", d, err)
	}
}

func TestThroughputAndRestarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:22509")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go echoServer(ln)
	// A server that closes every connection unanswered: its side fails and is dropped.
	bad, err := net.Listen("tcp", "127.0.0.1:22508")
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	go serve(bad, func(c net.Conn) { c.Close() })
	addrs := []string{ln.Addr().String(), bad.Addr().String(), ln.Addr().String()}
	for _, conc := range []int{1, 4} {
		rates, errs := throughput(addrs, conc, 300*time.Millisecond, 3)
		for _, k := range []int{0, 2} {
			if rates[k] <= 0 || errs[k] != nil {
				t.Errorf("concurrency %d, side %d: throughput = %.0f/s, %v", conc, k, rates[k], errs[k])
			}
		}
		if errs[1] == nil || !strings.Contains(errs[1].Error(), "round 1:") {
			t.Errorf("concurrency %d: failing side's error = %v, want one in round 1", conc, errs[1])
		}
	}

	sock := filepath.Join(t.TempDir(), "r.sk")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	go echoServer(uln)
	restarts := 0
	sent, failed, elapsed, err := underRestarts(sock, 200, 3, 100*time.Millisecond, func() error { restarts++; return nil })
	if err != nil || restarts != 3 || len(failed) != 0 {
		t.Fatalf("underRestarts: err %v, %d restarts, failed %v", err, restarts, failed)
	}
	// No assertion on the rate reached: how far a busy machine lets the scheduler fall behind
	// is the benchmark's to report, not the test's. Only that requests went out and were timed.
	if sent <= 0 || elapsed <= 0 {
		t.Errorf("sent %d requests in %v, want some", sent, elapsed)
	}
}

// fakeCold serves cycles from an always-running echo server; failAt > 0 makes that cycle fail.
type fakeCold struct {
	sock          string
	cycles, dones int
	failAt        int
	order         *[]string
	name          string
}

func (f *fakeCold) cycle() (string, func() error, error) {
	f.cycles++
	*f.order = append(*f.order, f.name)
	if f.cycles == f.failAt {
		return "", nil, errors.New("boom")
	}
	return f.sock, func() error { f.dones++; return nil }, nil
}

func TestColdInterleaved(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "echo.sk")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go echoServer(ln)
	var order []string
	a := &fakeCold{sock: sock, order: &order, name: "a"}
	b := &fakeCold{sock: sock, order: &order, name: "b", failAt: 2}
	c := &fakeCold{sock: sock, order: &order, name: "c"}
	st, errs := coldInterleaved([]coldTarget{a, b, c}, 4)
	if errs[0] != nil || errs[2] != nil || errs[1] == nil {
		t.Fatalf("errs = %v, want only b's", errs)
	}
	if st[0].n != 4 || st[2].n != 4 || st[1].n != 1 {
		t.Errorf("samples a=%d b=%d c=%d, want 4 1 4", st[0].n, st[1].n, st[2].n)
	}
	if a.dones != 4 || b.dones != 1 {
		t.Errorf("done called a=%d b=%d times, want 4 and 1", a.dones, b.dones)
	}
	// Rounds rotate the first side (abc, bca, cab, abc); b drops out after its failed second cycle.
	if got, want := strings.Join(order, ""), "abc"+"bca"+"ca"+"ac"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}
