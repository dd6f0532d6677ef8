package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// stats summarises a set of durations.
type stats struct {
	n           int
	median, p90 time.Duration
}

func summarise(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return stats{n: len(s), median: s[len(s)/2], p90: s[(len(s)*9)/10]}
}

// firstByte connects to a unix socket, sends one line and waits for the first byte of the echo.
// It returns the time from the start of connect to that byte.
func firstByte(sock string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	c, err := net.DialTimeout("unix", sock, timeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(start.Add(timeout))
	if _, err := c.Write([]byte("x\n")); err != nil {
		return 0, err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if b[0] != 'x' {
		return 0, fmt.Errorf("echo: got %q, want 'x'", b[0])
	}
	// Read the rest so the server does not see a reset.
	io.ReadFull(c, b[:])
	return d, nil
}

// coldTarget starts one fresh activation per cycle: the socket is listening and no server runs
// when cycle returns; done makes sure the server is gone again.
type coldTarget interface {
	cycle() (sock string, done func() error, err error)
}

// inTurn runs f(k) for every side k in each of rounds rounds, taking the sides in turn with the
// first one rotating from round to round (012, 120, 201, ...), so that the load of a busy
// machine drifting over the run weighs on every side alike. A side for which f fails is dropped
// from later rounds; its error, with the round, is returned at its index.
func inTurn(rounds, sides int, f func(k int) error) []error {
	errs := make([]error, sides)
	for i := 0; i < rounds; i++ {
		for j := 0; j < sides; j++ {
			k := (i + j) % sides
			if errs[k] != nil {
				continue
			}
			if err := f(k); err != nil {
				errs[k] = fmt.Errorf("round %d: %w", i+1, err)
			}
		}
	}
	return errs
}

// coldInterleaved measures connect -> first byte over n fresh activations of every target,
// taking them in turn (inTurn). A target that fails is dropped from later rounds with its error.
func coldInterleaved(targets []coldTarget, n int) ([]stats, []error) {
	ds := make([][]time.Duration, len(targets))
	errs := inTurn(n, len(targets), func(k int) error {
		sock, done, err := targets[k].cycle()
		if err != nil {
			return err
		}
		d, err := firstByte(sock, 10*time.Second)
		if derr := done(); err == nil && derr != nil {
			err = derr
		}
		if err != nil {
			return err
		}
		ds[k] = append(ds[k], d)
		return nil
	})
	out := make([]stats, len(targets))
	for k := range targets {
		out[k] = summarise(ds[k])
	}
	return out, errs
}

// echoOnce is one Accept=yes request: connect, send a line, half-close, read everything back.
func echoOnce(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := []byte("ping\n")
	if _, err := c.Write(msg); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo: got %q", got)
	}
	return nil
}

// burst runs conc workers doing echoOnce back to back for d and returns the connections that
// succeeded and failed and the time they took (d and the last connections' tail).
func burst(addr string, conc int, d time.Duration) (ok, failed int64, took time.Duration) {
	var nok, nfailed atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := echoOnce(addr); err != nil {
					nfailed.Add(1)
				} else {
					nok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return nok.Load(), nfailed.Load(), time.Since(start)
}

// throughput measures the connections per second of every address at concurrency conc, for d
// in all per address, cut into slices bursts taken in turn (inTurn), and returns each address's
// successful connections over its own measured time. An address whose connections fail is
// dropped from later rounds with an error.
func throughput(addrs []string, conc int, d time.Duration, slices int) ([]float64, []error) {
	ok := make([]int64, len(addrs))
	took := make([]time.Duration, len(addrs))
	errs := inTurn(slices, len(addrs), func(k int) error {
		n, failed, t := burst(addrs[k], conc, d/time.Duration(slices))
		ok[k] += n
		took[k] += t
		if failed > 0 {
			return fmt.Errorf("%d connections failed", failed)
		}
		return nil
	})
	rates := make([]float64, len(addrs))
	for k := range addrs {
		if took[k] > 0 {
			rates[k] = float64(ok[k]) / took[k].Seconds()
		}
	}
	return rates, errs
}

// underRestarts sends rate requests per second (each a new connection to the unix socket, one
// line echoed) for the whole test, restarting the service `restarts` times at equal intervals,
// and returns how many requests were sent, how many failed (by kind of error), and the time it
// took.
func underRestarts(sock string, rate, restarts int, every time.Duration, restart func() error) (sent int64, failed map[string]int, elapsed time.Duration, err error) {
	start := time.Now()
	var mu sync.Mutex
	failed = map[string]int{}
	var wg sync.WaitGroup
	stop, tickerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(tickerDone)
		// Catch up on ticks the scheduler missed, so the offered load really is rate/s.
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				for due := int64(now.Sub(start).Seconds() * float64(rate)); sent < due; sent++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := firstByte(sock, 5*time.Second); err != nil {
							mu.Lock()
							failed[errorKind(err)]++
							mu.Unlock()
						}
					}()
				}
			}
		}
	}()
	time.Sleep(every / 2)
	for i := 0; i < restarts && err == nil; i++ {
		if err = restart(); err != nil {
			err = fmt.Errorf("restart %d: %w", i+1, err)
		}
		time.Sleep(every)
	}
	close(stop)
	<-tickerDone // sent is final, and no wg.Add can follow
	elapsed = time.Since(start)
	wg.Wait()
	return sent, failed, elapsed, err
}

// errorKind names a request failure by its innermost cause ("connection refused", "EOF", ...).
func errorKind(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// total is the number of failures of all kinds.
func total(failed map[string]int) int {
	n := 0
	for _, c := range failed {
		n += c
	}
	return n
}
